// Types of `s3keep/workerd` (Cloudflare Workers): the API of the main entry without the
// node:fs directory helper.
export {
  BackupStore, init, S3KeepError, NoSuchBucketError, NotFoundError, BackupAlreadyExistsError,
  BackupNotCompletedError, AccessDeniedError, InvalidCredentialsError, ClockSkewError, ThrottledError,
  NetworkError, TimeoutError, InvalidInputError, IntegrityError, ConflictError, IoError,
  CancelledError, RedirectError, S3Error,
} from "./index.js";
export type {
  BackupIdLike, Duration, Size, StatusCode, BackupStoreOptions, ConfigReport, FileSource, FileSets, Progress,
  CallOptions, SaveOptions, BackupFields, BackupInfo, ListFilter, RestoredFile, RestoreOptions, DeleteReport,
  VerifyProblem, VerifyReport, RetentionPolicy, PlanEntry, PruneReport, AbortedUpload, CleanupReport, CheckResult,
  CheckReport, ErrorKind,
} from "./index.js";

// Types of `s3keep/workerd` (Cloudflare Workers): the API of the main entry without the
// node:fs directory helper.
export {
  BackupStore, init, S3KeepError, NoSuchBucketError, NotFoundError, BackupAlreadyExistsError,
  BackupNotCompletedError, AccessDeniedError, InvalidCredentialsError, ClockSkewError, ThrottledError,
  NetworkError, TimeoutError, InvalidInputError, IntegrityError, ConflictError, IoError,
  CancelledError, RedirectError, S3Error,
} from "./index.js";
export type {
  BackupIdLike, Duration, Size, StatusCode, BackupStoreOptions, ConfigReport, FileSource, FileSets, Progress, CallOptions,
  SaveOptions, BackupInfo, ListFilter, RestoredFile, RestoreOptions, DeleteResult, VerifyProblem,
  VerifyReport, RetentionPolicy, PruneEntry, PruneResult, MultipartUpload, CheckResult, ErrorKind,
} from "./index.js";

// The errors s3keep throws: one class per error kind of the Rust core (§6), all subclasses
// of S3KeepError. The Rust side throws plain objects `{s3keepError: true, kind, code,
// status, requestId, key, endpoint, message, hint}`; `toError` (api.js) turns them into these.

/** Base class of every s3keep error. */
export class S3KeepError extends Error {
  /** The core's error kind, e.g. "NotFound" (the class name without "Error"). */
  static kind = "S3";

  constructor(message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.kind = new.target.kind;
    /** The S3 error code ("NoSuchKey", "SignatureDoesNotMatch"...; for BackupNotCompleted the status). */
    this.code = details.code ?? null;
    /** HTTP status of the failing response. */
    this.status = details.status ?? null;
    /** x-amz-request-id of the failing response, for the store's support. */
    this.requestId = details.requestId ?? null;
    /** Object key, backup id or file concerned. */
    this.key = details.key ?? null;
    /** The endpoint the request went to (never with credentials). */
    this.endpoint = details.endpoint ?? null;
    /** What to do about it. */
    this.hint = details.hint ?? null;
  }
}

export class NoSuchBucketError extends S3KeepError { static kind = "NoSuchBucket"; }
export class NotFoundError extends S3KeepError { static kind = "NotFound"; }
export class BackupAlreadyExistsError extends S3KeepError { static kind = "BackupAlreadyExists"; }
export class BackupNotCompletedError extends S3KeepError { static kind = "BackupNotCompleted"; }
export class AccessDeniedError extends S3KeepError { static kind = "AccessDenied"; }
export class InvalidCredentialsError extends S3KeepError { static kind = "InvalidCredentials"; }
export class ClockSkewError extends S3KeepError { static kind = "ClockSkew"; }
export class ThrottledError extends S3KeepError { static kind = "Throttled"; }
export class NetworkError extends S3KeepError { static kind = "Network"; }
export class TimeoutError extends S3KeepError { static kind = "Timeout"; }
export class InvalidInputError extends S3KeepError { static kind = "InvalidInput"; }
export class IntegrityError extends S3KeepError { static kind = "Integrity"; }
export class ConflictError extends S3KeepError { static kind = "Conflict"; }
export class IoError extends S3KeepError { static kind = "Io"; }
export class CancelledError extends S3KeepError { static kind = "Cancelled"; }
/**
 * The store answered with a redirect (301 PermanentRedirect, 307 TemporaryRedirect) to another
 * endpoint or region. It is never followed: set `endpoint`/`region` to what the message names.
 */
export class RedirectError extends S3KeepError { static kind = "Redirect"; }
/** An S3 error none of the other classes describes; `code` names it. */
export class S3Error extends S3KeepError { static kind = "S3"; }

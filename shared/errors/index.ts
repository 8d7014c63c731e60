export { AppError, validationError, type AppErrorOptions, type ErrorDetails } from './app-error.js';
export { ERROR_CODES, httpStatusOf, isErrorCode, type ErrorCode } from './codes.js';

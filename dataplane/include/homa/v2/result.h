/**
 * @file
 * The one error convention of the v2 API (docs/api.md): a failure is a negative errno.
 * Calls that only succeed or fail return `int` (0 or -errno); calls that produce something
 * return `Result<T>`, which holds either the value or a negative errno plus a message that
 * says what was wrong (for bad input: which input, and what was expected).
 *
 * @code
 *   auto ep = homa::v2::SocketAddress::parse("10.0.0.1:99");
 *   if (!ep) { fprintf(stderr, "%s\n", ep.message().c_str()); return ep.error(); }
 *   use(*ep);
 * @endcode
 *
 * Ownership: a Result owns its value. Threading: plain value type, any thread.
 * Errors: value() and operator* on a failed Result are a programming error (assert).
 */
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace homa::v2 {

/** A failure: a negative errno and a human-readable reason. */
struct Error {
    int code = 0;         ///< Negative errno.
    std::string message;  ///< What failed and why; never empty for a failure made by homa.
};

/** strerror() of a negative (or positive) errno, for messages. Any thread. */
std::string error_string(int code);

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : value_(std::move(value)) {}     // NOLINT: implicit, for `return value;`
    Result(Error error) : error_(std::move(error)) {  // NOLINT: implicit, for `return Error{}`
        assert(error_.code < 0 && "homa::v2::Error codes are negative errnos");
    }

    bool ok() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    /** 0 on success, else the negative errno. */
    int error() const noexcept { return ok() ? 0 : error_.code; }
    /** Empty on success, else why it failed. */
    const std::string &message() const noexcept { return error_.message; }

    T &value() & {
        assert(ok());
        return *value_;
    }
    T &&value() && {
        assert(ok());
        return std::move(*value_);
    }
    T &operator*() & { return value(); }
    T &&operator*() && { return std::move(*this).value(); }
    T *operator->() { return &value(); }
    const T *operator->() const {
        assert(ok());
        return &*value_;
    }

  private:
    std::optional<T> value_;
    Error error_;
};

}  // namespace homa::v2

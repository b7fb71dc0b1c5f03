// The file service's messages (docs/file_service.md): what a client sends to the launcher's
// --file_port and what comes back. Shared by the server (file_service.cc), homa-perf's file
// reads and the tests. Little-endian on the wire; the structs are the wire layout (x86 and
// arm64 are little-endian; a static_assert pins every size and offset).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace homa::apps::file {

inline constexpr uint32_t kRequestMagic = 0x51534648;   ///< "HFSQ" in memory order.
inline constexpr uint32_t kResponseMagic = 0x52534648;  ///< "HFSR".
inline constexpr uint16_t kDefaultPort = 98;
inline constexpr uint32_t kMaxName = 255;

enum class Op : uint8_t {
    kRead = 1,   ///< Bytes [offset, offset + length) of the file.
    kStat = 2,   ///< The file's size (response: header only).
    kEvict = 3,  ///< Make the file cold: drop it from pager memory and the page cache.
    /** The server's file counters (response data: ServerCounters); the name must be a
     *  served file's, like every op. */
    kCounters = 4,
};

/** Response data of kCounters: the service's counters, little-endian. */
struct ServerCounters {
    uint64_t regions_served;
    uint64_t pulls;
    uint64_t bytes_pulled;
    uint64_t pull_p50_ns;
    uint64_t pull_p99_ns;
    uint64_t worker_reads;
    uint64_t worker_blocked_ns;
    uint64_t evicts;
};
static_assert(sizeof(ServerCounters) == 64);

enum Flags : uint8_t {
    /** Read: the server's worker reads the pages itself instead of asking its control lcore
     *  (as a plain read()+send or sendfile would). Refused unless the server allows it. */
    kFlagNoPrefetch = 1,
};

enum class Status : uint16_t {
    kOk = 0,
    kBadRequest = 1,    ///< Malformed request (magic, size, op, flags, name length).
    kNoSuchFile = 2,    ///< The name is not served.
    kOutOfRange = 3,    ///< offset + length past the file's end, or length 0 or too long.
    kFileGone = 4,      ///< The file was deleted since the server opened it.
    kTruncated = 5,     ///< The file shrank under the server: the bytes no longer exist.
    kIoError = 6,       ///< Reading the file failed (errno in the header).
    kBusy = 7,          ///< Evict while reads of the file are in flight, or no free slot.
    kNotPermitted = 8,  ///< kFlagNoPrefetch without the server's --file_allow_no_prefetch.
    kCancelled = 9,     ///< The read was aborted on the server (shutting down).
};

/** Request: this header, then name_len bytes of file name (no NUL). */
struct RequestHeader {
    uint32_t magic;
    uint8_t op;
    uint8_t flags;
    uint16_t name_len;
    uint64_t offset;
    uint32_t length;
    uint32_t reserved;  ///< 0.
};
static_assert(sizeof(RequestHeader) == 24);
static_assert(offsetof(RequestHeader, op) == 4 && offsetof(RequestHeader, flags) == 5);
static_assert(offsetof(RequestHeader, name_len) == 6 && offsetof(RequestHeader, offset) == 8);
static_assert(offsetof(RequestHeader, length) == 16 && offsetof(RequestHeader, reserved) == 20);

/** Response: this header, then `length` bytes (a read's data; nothing otherwise). */
struct ResponseHeader {
    uint32_t magic;
    uint16_t status;     ///< Status.
    uint16_t reserved;   ///< 0.
    uint32_t length;     ///< Data bytes after the header.
    int32_t error;       ///< kIoError: the negative errno; else 0.
    uint64_t file_size;  ///< The file's size as served (0 for kNoSuchFile, kBadRequest).
};
static_assert(sizeof(ResponseHeader) == 24);
static_assert(offsetof(ResponseHeader, status) == 4 && offsetof(ResponseHeader, length) == 8);
static_assert(offsetof(ResponseHeader, error) == 12 && offsetof(ResponseHeader, file_size) == 16);

/** The longest read: a Homa message is at most 1,000,000 bytes, header included. */
inline constexpr uint32_t kMaxRead = 1'000'000 - sizeof(ResponseHeader);

/** Writes a request into `out` (at least sizeof(RequestHeader) + name.size() bytes);
 *  returns its length, or 0 if the name is too long. */
inline size_t encode_request(std::span<uint8_t> out, Op op, uint8_t flags, std::string_view name,
                             uint64_t offset, uint32_t length) {
    if (name.size() > kMaxName || out.size() < sizeof(RequestHeader) + name.size()) return 0;
    RequestHeader h{kRequestMagic,
                    static_cast<uint8_t>(op),
                    flags,
                    static_cast<uint16_t>(name.size()),
                    offset,
                    length,
                    0};
    memcpy(out.data(), &h, sizeof(h));
    memcpy(out.data() + sizeof(h), name.data(), name.size());
    return sizeof(h) + name.size();
}

/** A response's header from its first bytes, if valid: magic, and `message_length` (the
 *  whole response's) equal to the header plus its data length. */
inline bool decode_response(std::span<const uint8_t> first, uint32_t message_length,
                            ResponseHeader *out) {
    if (first.size() < sizeof(ResponseHeader)) return false;
    memcpy(out, first.data(), sizeof(*out));
    return out->magic == kResponseMagic &&
           uint64_t{message_length} == sizeof(ResponseHeader) + uint64_t{out->length};
}

/** "ok", "out of range", ... for messages. */
const char *status_name(Status s);

}  // namespace homa::apps::file

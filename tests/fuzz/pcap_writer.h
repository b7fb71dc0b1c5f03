// A classic libpcap file (magic a1b2c3d4, microsecond stamps, LINKTYPE_ETHERNET) written by
// hand: the format is 24 + 16 bytes of headers, and test programs should not need libpcap's
// development package just to produce captures that DPDK's net_pcap reads back.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

namespace homa::test {

class PcapWriter {
  public:
    // Opens (truncates) `path`; ok() says whether that worked.
    explicit PcapWriter(const std::string &path) : f_(std::fopen(path.c_str(), "wb")) {
        if (f_ == nullptr) return;
        const uint32_t magic = 0xA1B2C3D4, snaplen = 65535, linktype = 1;
        const uint16_t major = 2, minor = 4;
        const int32_t thiszone = 0;
        const uint32_t sigfigs = 0;
        put(magic), put(major), put(minor), put(thiszone), put(sigfigs), put(snaplen),
            put(linktype);
    }
    ~PcapWriter() {
        if (f_) std::fclose(f_);
    }
    PcapWriter(const PcapWriter &) = delete;
    PcapWriter &operator=(const PcapWriter &) = delete;

    bool ok() const { return f_ != nullptr && !std::ferror(f_); }

    // One record; the whole frame is captured (incl_len == orig_len): a truncated frame in the
    // corpus is a short frame on the wire, not a short capture of a longer one.
    void write(std::span<const uint8_t> frame) {
        const uint32_t len = static_cast<uint32_t>(frame.size());
        const uint32_t sec = count_ / 1'000'000, usec = count_ % 1'000'000;
        put(sec), put(usec), put(len), put(len);
        std::fwrite(frame.data(), 1, frame.size(), f_);
        ++count_;
    }

    uint32_t frames() const { return count_; }

  private:
    template <class T>
    void put(T v) {
        std::fwrite(&v, sizeof v, 1, f_);  // the magic tells readers our (host) byte order
    }

    std::FILE *f_;
    uint32_t count_ = 0;
};

}  // namespace homa::test

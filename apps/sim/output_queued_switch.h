// The switch of the simulated cluster: one output port per host, each with 8 strict-priority
// FIFO queues (the IP TOS priority picks the queue, 7 served first), all sharing one finite
// buffer. A frame that does not fit in the shared buffer is dropped on arrival (tail drop), as
// a shallow-buffered datacenter switch does; the engines' loss recovery must then resend it.
// The switch only stores frames; the cluster decides when a port starts sending (one frame at
// a time, taken with dequeue()).
//
// Threading: one simulation thread. Ownership: frames are opaque 32-bit handles owned by the
// caller. Errors: enqueue() returns false for a dropped frame; bad port/priority assert.
#pragma once

#include <cassert>
#include <cstdint>
#include <deque>
#include <vector>

namespace homa::sim {

class OutputQueuedSwitch {
  public:
    static constexpr uint32_t kPriorities = 8;

    OutputQueuedSwitch(uint32_t ports, uint64_t buffer_bytes);

    /** Queues `frame` (of `bytes`) at `port` with `priority`; false (dropped, nothing queued)
     *  when the shared buffer cannot take it. */
    bool enqueue(uint32_t port, uint32_t frame, uint32_t bytes, uint8_t priority);
    /** True if `port` holds a frame. */
    bool has_frame(uint32_t port) const noexcept { return ports_[port].frames != 0; }
    /** Takes the port's next frame: the oldest of its highest non-empty priority. The port must
     *  hold a frame. */
    uint32_t dequeue(uint32_t port);

    uint64_t buffer_used() const noexcept { return used_; }
    uint64_t max_buffer_used() const noexcept { return max_used_; }
    uint64_t port_bytes(uint32_t port) const noexcept { return ports_[port].bytes; }
    /** Most bytes one port ever held (the "bounded queues" evidence). */
    uint64_t max_port_bytes() const noexcept { return max_port_bytes_; }
    uint64_t drops() const noexcept { return drops_; }

  private:
    struct Queued {
        uint32_t frame;
        uint32_t bytes;
    };
    struct Port {
        std::deque<Queued> queue[kPriorities];
        uint64_t bytes = 0;
        uint32_t frames = 0;
    };
    std::vector<Port> ports_;
    uint64_t capacity_;
    uint64_t used_ = 0;
    uint64_t max_used_ = 0;
    uint64_t max_port_bytes_ = 0;
    uint64_t drops_ = 0;
};

}  // namespace homa::sim

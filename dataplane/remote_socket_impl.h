// RemoteSocket's private parts shared by its two files: remote_socket.cc (slots, port
// commands, the API) and remote_socket_rings.cc (the answer and request rings).
#pragma once

#include "handoff_ring.h"
#include "homa/dataplane/port_message.h"
#include "homa/dataplane/remote_socket.h"

namespace homa::dp {

struct RemoteSocket::Slot {
    enum class State : uint8_t { kFree, kWaiting, kAsync, kReady, kOrphan };
    PortMessage msg;
    homa::Message data;
    State state = State::kFree;
    Slot *next_free = nullptr;
    SendDone done = nullptr;  ///< kRemoteSendRegion: runs here when the command comes home.
    void *done_ctx = nullptr;
};

/** The socket's two rings with this side's positions in them. */
struct RemoteSocket::Rings {
    OpenRings shared;            ///< What kRemoteOpen hands the worker.
    Consumer<Answer> answers;    ///< Messages and refusals from the worker.
    Producer<Request> requests;  ///< Sends and replies for the worker.

    ~Rings() {
        AnswerRing::destroy(shared.answers);
        RequestRing::destroy(shared.requests);
    }
};

}  // namespace homa::dp

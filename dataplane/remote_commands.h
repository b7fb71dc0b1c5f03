// The commands a RemoteSocket (remote_socket.cc, application thread) sends to a SocketService
// (socket_service.cc, worker lcore) through message ports: opcodes and the one body they share.
// Private to dataplane/: both ends are built together, so the layout is not an interface.
//
// Who owns what while a command is in flight: the message and everything its body points at
// (a homa::Message slot in the application's RemoteSocket) belong to the worker from send_msg()
// until the reply is received; the answer ring handed over with kRemoteOpen is written by the
// worker until kRemoteClose is answered; bpage offsets named by a send or reply belong to the
// worker from the moment the command is accepted (it releases them when the send completes or
// fails).
#pragma once

#include <cstdint>

#include "homa/dataplane/port_message.h"
#include "homa/proto/engine.h"

namespace homa::dp {

/** PortMessage::opcode() of remote socket commands. */
enum RemoteOp : uint16_t {
    kRemoteOpen = 0x200,  ///< port, data + length (the answer ring and its capacity) ->
                          ///< handle, addr (the socket's address). Reply error: open's.
    kRemoteSend,          ///< handle, addr (dst), cookie, msg (offsets in the pool) -> id.
    kRemoteReply,         ///< handle, addr (dst), id (the request), msg (offsets in the pool).
    kRemoteAbort,         ///< handle, id (0 = all), error.
    kRemoteClose,         ///< handle. Once answered, the worker no longer writes the ring.
    kRemoteSendRegion,    ///< handle, addr (dst), cookie, data, length: a region send
                          ///< (SocketService::send_region). The worker keeps the command
                          ///< until the body's memory is released, then replies 0 (id set);
                          ///< an error reply means nothing was started.
};

/** Body of every remote command (unused fields are ignored). */
struct RemoteCommand {
    uint32_t handle;  ///< The worker's index of the socket (from kRemoteOpen).
    uint16_t port;    ///< kRemoteOpen: the port to bind (0: a client port).
    Endpoint addr;    ///< Destination; kRemoteOpen reply: the socket's address.
    uint64_t id;      ///< RPC id (in or out).
    uint64_t cookie;
    homa::Message *msg;  ///< Application memory: a message to send, or a receive to fill.
    const void *data;    ///< kRemoteSendRegion: the body. kRemoteOpen: the answer ring.
    uint32_t length;     ///< kRemoteSendRegion: its length. kRemoteOpen: the ring's capacity.
    int32_t error;       ///< kRemoteAbort: the error RPCs complete with.
};
static_assert(sizeof(RemoteCommand) <= kPortMessageBodySize);

}  // namespace homa::dp

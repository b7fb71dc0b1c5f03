/**
 * @file
 * Everything an application needs, in one include: the v2 C++ API (homa::v2::Host, PollLoop,
 * Socket, Message, SocketAddress, Result). The C ABI is homa/homa_c.h. docs/api.md has the quick
 * start, ownership, threading and the error convention (negative errnos).
 *
 * The v1 classes (homa::dp::Host, Socket, RemoteSocket, ...) stay available through their own
 * headers, and each v2 class hands out its v1 object with raw() for what v2 does not wrap.
 */
#pragma once

#include "homa/v2/host.h"            // IWYU pragma: export
#include "homa/v2/poll_loop.h"       // IWYU pragma: export
#include "homa/v2/result.h"          // IWYU pragma: export
#include "homa/v2/socket.h"          // IWYU pragma: export
#include "homa/v2/socket_address.h"  // IWYU pragma: export

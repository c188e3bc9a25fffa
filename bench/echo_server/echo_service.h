#ifndef ARCA_BENCH_ECHO_SERVER_ECHO_SERVICE_H_
#define ARCA_BENCH_ECHO_SERVER_ECHO_SERVICE_H_

// The echo handler of bench/echo_server, in a library of its own so that
// tests can serve it in-process.

#include "bench/echo_server/echo.grpc.pb.h"

namespace arca::bench {

// Fills `response` for `request`: a copy of the payload (or response_bytes
// bytes); for a batch, as many items as the request's, each a copy or
// response_bytes bytes.
void FillEchoResponse(const v1::EchoMessage& request,
                      v1::EchoMessage* response);

// Answers every call with FillEchoResponse. Stateless, so thread-safe.
class EchoService final : public v1::EchoService::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const v1::EchoMessage* request,
                                 v1::EchoMessage* response) override;
};

}  // namespace arca::bench

#endif  // ARCA_BENCH_ECHO_SERVER_ECHO_SERVICE_H_

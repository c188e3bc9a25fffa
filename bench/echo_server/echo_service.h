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

// Request and response of one EchoBatch call on an arena, as arcad
// allocates its batch RPCs' messages. Stateless and thread-safe.
class ArenaEchoAllocator final
    : public grpc::MessageAllocator<v1::EchoMessage, v1::EchoMessage> {
 public:
  grpc::MessageHolder<v1::EchoMessage, v1::EchoMessage>* AllocateMessages()
      override;
};

// Answers every call with FillEchoResponse. Thread-safe.
class EchoService final : public v1::EchoService::CallbackService {
 public:
  EchoService();

 private:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const v1::EchoMessage* request,
                                 v1::EchoMessage* response) override;
  grpc::ServerUnaryReactor* EchoBatch(grpc::CallbackServerContext* context,
                                      const v1::EchoMessage* request,
                                      v1::EchoMessage* response) override;
  ArenaEchoAllocator batch_allocator_;
};

}  // namespace arca::bench

#endif  // ARCA_BENCH_ECHO_SERVER_ECHO_SERVICE_H_

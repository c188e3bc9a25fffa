#include "bench/echo_server/echo_service.h"

#include <string>

namespace arca::bench {

void FillEchoResponse(const v1::EchoMessage& request,
                      v1::EchoMessage* response) {
  const size_t resize = request.response_bytes();
  if (request.items_size() == 0) {
    if (resize > 0) {
      response->set_payload(std::string(resize, 'e'));
    } else {
      response->set_payload(request.payload());
    }
    return;
  }
  // A fresh string per item, as a batch handler builds one per result.
  response->set_payload(request.payload());
  response->mutable_items()->Reserve(request.items_size());
  for (const std::string& item : request.items()) {
    if (resize > 0) {
      response->add_items(std::string(resize, 'e'));
    } else {
      response->add_items(item);
    }
  }
}

grpc::ServerUnaryReactor* EchoService::Echo(
    grpc::CallbackServerContext* context, const v1::EchoMessage* request,
    v1::EchoMessage* response) {
  FillEchoResponse(*request, response);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace arca::bench

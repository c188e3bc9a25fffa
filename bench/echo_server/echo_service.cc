#include "bench/echo_server/echo_service.h"

#include <string>

#include "google/protobuf/arena.h"

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

namespace {

class ArenaEchoMessages final
    : public grpc::MessageHolder<v1::EchoMessage, v1::EchoMessage> {
 public:
  ArenaEchoMessages() : arena_(Options()) {
    set_request(
        google::protobuf::Arena::CreateMessage<v1::EchoMessage>(&arena_));
    set_response(
        google::protobuf::Arena::CreateMessage<v1::EchoMessage>(&arena_));
  }
  void Release() override { delete this; }

 private:
  // The block sizes arcad's batch arena uses.
  static google::protobuf::ArenaOptions Options() {
    google::protobuf::ArenaOptions o;
    o.start_block_size = 16 << 10;
    o.max_block_size = 64 << 10;
    return o;
  }
  google::protobuf::Arena arena_;
};

}  // namespace

grpc::MessageHolder<v1::EchoMessage, v1::EchoMessage>*
ArenaEchoAllocator::AllocateMessages() {
  return new ArenaEchoMessages();
}

EchoService::EchoService() {
  SetMessageAllocatorFor_EchoBatch(&batch_allocator_);
}

grpc::ServerUnaryReactor* EchoService::EchoBatch(
    grpc::CallbackServerContext* context, const v1::EchoMessage* request,
    v1::EchoMessage* response) {
  return Echo(context, request, response);
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

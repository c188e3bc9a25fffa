#ifndef ARCA_SERVER_API_DATABASE_SERVICE_H_
#define ARCA_SERVER_API_DATABASE_SERVICE_H_

#include <string>
#include <string_view>

#include "arca/v1/database.grpc.pb.h"
#include "server/core/core.h"

namespace arca::api {

// The resource path a DatabaseService RPC authorizes (database.proto):
// "<mount>/<area>[/<name>]", mount "" meaning "database".
std::string DatabaseResourcePath(std::string_view mount, std::string_view area,
                                 std::string_view name = "");

// gRPC adapter for arca.v1.DatabaseService: one Handle call per RPC on the
// path named in database.proto, then the mount's database::Engine. Calls
// that talk to PostgreSQL (WriteConnection, RotateRoot, Creds) go through
// HandleBlocking so they never hold one of gRPC's callback threads. Creds
// attaches a "database" lease; a login whose lease is not registered is
// dropped again before the answer. Non-owning Core pointer. Thread-safe.
class DatabaseService final : public arca::v1::DatabaseService::CallbackService {
 public:
  explicit DatabaseService(core::Core* core) : core_(core) {}

#define ARCA_DATABASE_RPC(Rpc, Req, Resp)                                  \
  grpc::ServerUnaryReactor* Rpc(grpc::CallbackServerContext* ctx,          \
                                const v1::Req* req, v1::Resp* resp) override;
  ARCA_DATABASE_RPC(WriteConnection, DatabaseWriteConnectionRequest,
                    DatabaseConnection)
  ARCA_DATABASE_RPC(ReadConnection, DatabaseNameRequest, DatabaseConnection)
  ARCA_DATABASE_RPC(ListConnections, DatabaseListRequest, DatabaseListResponse)
  ARCA_DATABASE_RPC(DeleteConnection, DatabaseNameRequest,
                    DatabaseDeleteResponse)
  ARCA_DATABASE_RPC(RotateRoot, DatabaseNameRequest, DatabaseConnection)
  ARCA_DATABASE_RPC(WriteRole, DatabaseWriteRoleRequest, DatabaseRole)
  ARCA_DATABASE_RPC(ReadRole, DatabaseNameRequest, DatabaseRole)
  ARCA_DATABASE_RPC(ListRoles, DatabaseListRequest, DatabaseListResponse)
  ARCA_DATABASE_RPC(DeleteRole, DatabaseNameRequest, DatabaseDeleteResponse)
  ARCA_DATABASE_RPC(Creds, DatabaseCredsRequest, DatabaseCredsResponse)
#undef ARCA_DATABASE_RPC

 private:
  core::Core* core_;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_DATABASE_SERVICE_H_

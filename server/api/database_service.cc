#include "server/api/database_service.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kms/status_macros.h"
#include "server/api/handle.h"
#include "spdlog/spdlog.h"

namespace arca::api {
namespace {

using core::Capability;
namespace db = engines::database;

std::string MountOf(std::string_view mount) {
  return std::string(mount.empty() ? std::string_view("database") : mount);
}

void ToProto(const db::ConnectionInfo& c, v1::DatabaseConnection* out) {
  out->set_name(c.name);
  out->set_connection_url(c.connection_url);
  out->set_username(c.username);
  for (const auto& r : c.allowed_roles) out->add_allowed_roles(r);
  out->set_max_open_connections(c.max_open_connections);
  out->set_root_rotated_unix_ms(c.root_rotated_unix_ms);
}

void ToProto(const db::RoleConfig& r, v1::DatabaseRole* out) {
  out->set_name(r.name);
  out->set_db_name(r.db_name);
  for (const auto& s : r.creation_statements) out->add_creation_statements(s);
  for (const auto& s : r.revocation_statements) {
    out->add_revocation_statements(s);
  }
  for (const auto& s : r.renew_statements) out->add_renew_statements(s);
  out->set_default_ttl_seconds(r.default_ttl_seconds);
  out->set_max_ttl_seconds(r.max_ttl_seconds);
}

void Names(std::vector<std::string> names, v1::DatabaseListResponse* out) {
  for (auto& n : names) out->add_names(std::move(n));
}

// A login created in PostgreSQL whose lease is not registered yet. The
// pipeline registers the lease after the handler returned; if that fails
// (or the handler fails later) the lease callback is dropped uncalled and
// this drops the login before the answer goes out. If arcad dies between
// the two (kill -9), nothing here runs: the login then lapses by itself
// at the VALID UNTIL {{expiration}} its creation statements set.
class PendingLogin {
 public:
  PendingLogin(std::shared_ptr<db::Engine> engine, std::string lease_data,
               std::string username)
      : engine_(std::move(engine)),
        lease_data_(std::move(lease_data)),
        username_(std::move(username)) {}
  PendingLogin(const PendingLogin&) = delete;
  PendingLogin& operator=(const PendingLogin&) = delete;
  ~PendingLogin() {
    if (registered_) return;
    absl::Status st = engine_->RevokeLogin(lease_data_);
    if (st.ok()) {
      spdlog::warn("database login {} dropped: its lease was not registered",
                   username_);
    } else {
      spdlog::error("database login {} has no lease and could not be "
                    "dropped ({}); it expires at its VALID UNTIL",
                    username_, std::string(st.message()));
    }
  }
  void MarkRegistered() { registered_ = true; }

 private:
  std::shared_ptr<db::Engine> engine_;
  std::string lease_data_;
  std::string username_;
  bool registered_ = false;
};

}  // namespace

std::string DatabaseResourcePath(std::string_view mount, std::string_view area,
                                 std::string_view name) {
  std::string resource = MountOf(mount);
  resource.append("/").append(area);
  if (!name.empty()) resource.append("/").append(name);
  return resource;
}

grpc::ServerUnaryReactor* DatabaseService::WriteConnection(
    grpc::CallbackServerContext* ctx,
    const v1::DatabaseWriteConnectionRequest* req,
    v1::DatabaseConnection* resp) {
  core::Core* core = core_;
  return HandleBlocking(
      core, ctx, "database.write_connection",
      DatabaseResourcePath(req->mount(), "config", req->name()),
      Capability::kUpdate, *req, resp,
      [core, req, resp](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core->DatabaseEngine(MountOf(req->mount())));
        db::ConnectionConfig c;
        c.name = req->name();
        c.connection_url = req->connection_url();
        c.username = req->username();
        c.password = kms::SecretBytes::CopyFrom(req->password());
        c.allowed_roles.assign(req->allowed_roles().begin(),
                               req->allowed_roles().end());
        c.max_open_connections = req->max_open_connections();
        c.verify_connection =
            !req->has_verify_connection() || req->verify_connection();
        ASSIGN_OR_RETURN(db::ConnectionInfo info, engine->WriteConnection(c));
        ToProto(info, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DatabaseService::ReadConnection(
    grpc::CallbackServerContext* ctx, const v1::DatabaseNameRequest* req,
    v1::DatabaseConnection* resp) {
  return Handle(core_, ctx, "database.read_connection",
                DatabaseResourcePath(req->mount(), "config", req->name()),
                Capability::kRead, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auto engine,
                                   core_->DatabaseEngine(MountOf(req->mount())));
                  ASSIGN_OR_RETURN(db::ConnectionInfo info,
                                   engine->ReadConnection(req->name()));
                  ToProto(info, resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* DatabaseService::ListConnections(
    grpc::CallbackServerContext* ctx, const v1::DatabaseListRequest* req,
    v1::DatabaseListResponse* resp) {
  return Handle(core_, ctx, "database.list_connections",
                DatabaseResourcePath(req->mount(), "config"), Capability::kList,
                *req, resp, [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auto engine,
                                   core_->DatabaseEngine(MountOf(req->mount())));
                  ASSIGN_OR_RETURN(auto names, engine->ListConnections());
                  Names(std::move(names), resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* DatabaseService::DeleteConnection(
    grpc::CallbackServerContext* ctx, const v1::DatabaseNameRequest* req,
    v1::DatabaseDeleteResponse* resp) {
  // Blocking: it may ask PostgreSQL whether outstanding logins still exist.
  core::Core* core = core_;
  return HandleBlocking(
      core, ctx, "database.delete_connection",
      DatabaseResourcePath(req->mount(), "config", req->name()),
      Capability::kDelete, *req, resp,
      [core, req](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core->DatabaseEngine(MountOf(req->mount())));
        return engine->DeleteConnection(req->name());
      });
}

grpc::ServerUnaryReactor* DatabaseService::RotateRoot(
    grpc::CallbackServerContext* ctx, const v1::DatabaseNameRequest* req,
    v1::DatabaseConnection* resp) {
  core::Core* core = core_;
  return HandleBlocking(
      core, ctx, "database.rotate_root",
      DatabaseResourcePath(req->mount(), "rotate-root", req->name()),
      Capability::kUpdate, *req, resp,
      [core, req, resp](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core->DatabaseEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(db::ConnectionInfo info,
                         engine->RotateRoot(req->name()));
        ToProto(info, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DatabaseService::WriteRole(
    grpc::CallbackServerContext* ctx, const v1::DatabaseWriteRoleRequest* req,
    v1::DatabaseRole* resp) {
  return Handle(core_, ctx, "database.write_role",
                DatabaseResourcePath(req->mount(), "roles", req->name()),
                Capability::kUpdate, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auto engine,
                                   core_->DatabaseEngine(MountOf(req->mount())));
                  db::RoleConfig r;
                  r.name = req->name();
                  r.db_name = req->db_name();
                  r.creation_statements.assign(
                      req->creation_statements().begin(),
                      req->creation_statements().end());
                  r.revocation_statements.assign(
                      req->revocation_statements().begin(),
                      req->revocation_statements().end());
                  r.renew_statements.assign(req->renew_statements().begin(),
                                            req->renew_statements().end());
                  r.default_ttl_seconds = req->default_ttl_seconds();
                  r.max_ttl_seconds = req->max_ttl_seconds();
                  ASSIGN_OR_RETURN(db::RoleConfig out, engine->WriteRole(r));
                  ToProto(out, resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* DatabaseService::ReadRole(
    grpc::CallbackServerContext* ctx, const v1::DatabaseNameRequest* req,
    v1::DatabaseRole* resp) {
  return Handle(core_, ctx, "database.read_role",
                DatabaseResourcePath(req->mount(), "roles", req->name()),
                Capability::kRead, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auto engine,
                                   core_->DatabaseEngine(MountOf(req->mount())));
                  ASSIGN_OR_RETURN(db::RoleConfig r, engine->ReadRole(req->name()));
                  ToProto(r, resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* DatabaseService::ListRoles(
    grpc::CallbackServerContext* ctx, const v1::DatabaseListRequest* req,
    v1::DatabaseListResponse* resp) {
  return Handle(core_, ctx, "database.list_roles",
                DatabaseResourcePath(req->mount(), "roles"), Capability::kList,
                *req, resp, [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auto engine,
                                   core_->DatabaseEngine(MountOf(req->mount())));
                  ASSIGN_OR_RETURN(auto names, engine->ListRoles());
                  Names(std::move(names), resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* DatabaseService::DeleteRole(
    grpc::CallbackServerContext* ctx, const v1::DatabaseNameRequest* req,
    v1::DatabaseDeleteResponse* resp) {
  return Handle(core_, ctx, "database.delete_role",
                DatabaseResourcePath(req->mount(), "roles", req->name()),
                Capability::kDelete, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auto engine,
                                   core_->DatabaseEngine(MountOf(req->mount())));
                  return engine->DeleteRole(req->name());
                });
}

grpc::ServerUnaryReactor* DatabaseService::Creds(
    grpc::CallbackServerContext* ctx, const v1::DatabaseCredsRequest* req,
    v1::DatabaseCredsResponse* resp) {
  core::Core* core = core_;
  return HandleBlocking(
      core, ctx, "database.creds",
      DatabaseResourcePath(req->mount(), "creds", req->role()),
      Capability::kRead, *req, resp,
      [core, req, resp](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core->DatabaseEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(
            db::IssuedLogin login,
            engine->CreateLogin(req->role(), absl::Seconds(req->ttl_seconds())));
        auto pending = std::make_shared<PendingLogin>(engine, login.lease_data,
                                                      login.username);
        resp->set_username(login.username);
        resp->set_password(std::string(login.password.Reveal()));
        resp->set_renewable(true);
        lease::LeaseSpec spec;
        spec.kind = db::kLeaseKind;
        spec.data = login.lease_data;
        spec.ttl = login.ttl;
        spec.max_ttl = login.max_ttl;
        spec.renewable = true;
        caller.AttachLease(
            std::move(spec),
            [pending, resp](const lease::LeaseEntry& lease) {
              pending->MarkRegistered();
              resp->set_lease_id(lease.id());
              resp->set_lease_duration_seconds(
                  (lease.expire_unix_ms() - lease.issue_unix_ms()) / 1000);
            });
        return absl::OkStatus();
      });
}

}  // namespace arca::api

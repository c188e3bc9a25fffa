#include "server/engines/database/engine.h"

#include <algorithm>
#include <utility>

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "kms/status_macros.h"
#include "server/engines/database/database_records.pb.h"
#include "server/engines/database/postgres.h"
#include "server/engines/database/sql_template.h"
#include "spdlog/spdlog.h"

namespace arca::engines::database {
namespace {

constexpr char kConfigPrefix[] = "config/";
constexpr char kRolePrefix[] = "roles/";
constexpr char kLoginPrefix[] = "logins/";

std::string LoginKey(std::string_view connection, std::string_view username) {
  return absl::StrCat(kLoginPrefix, std::string(connection), "/",
                      std::string(username));
}

ConnectionInfo InfoOf(const ConnectionRecord& r) {
  ConnectionInfo info;
  info.name = r.name();
  info.connection_url = r.connection_url();
  info.username = r.username();
  info.allowed_roles.assign(r.allowed_roles().begin(), r.allowed_roles().end());
  info.max_open_connections = r.max_open_connections();
  info.root_rotated_unix_ms = r.root_rotated_unix_ms();
  return info;
}

RoleConfig ConfigOf(const RoleRecord& r) {
  RoleConfig c;
  c.name = r.name();
  c.db_name = r.db_name();
  c.creation_statements.assign(r.creation_statements().begin(),
                               r.creation_statements().end());
  c.revocation_statements.assign(r.revocation_statements().begin(),
                                 r.revocation_statements().end());
  c.renew_statements.assign(r.renew_statements().begin(),
                            r.renew_statements().end());
  c.default_ttl_seconds = r.default_ttl_seconds();
  c.max_ttl_seconds = r.max_ttl_seconds();
  return c;
}

ConnectParams ParamsOf(const ConnectionRecord& r, std::string_view password) {
  ConnectParams p;
  p.url = r.connection_url();
  p.username = r.username();
  p.password = kms::SecretBytes::CopyFrom(password);
  return p;
}

// Checks one list of statement templates.
absl::Status CheckStatements(std::string_view what,
                             const std::vector<std::string>& statements,
                             bool password_allowed) {
  if (statements.size() > static_cast<size_t>(kMaxStatements)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        std::string(what), ": at most ", kMaxStatements, " statements are allowed"));
  }
  for (const std::string& s : statements) {
    if (s.size() > kMaxStatementBytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          std::string(what), ": a statement is longer than ", kMaxStatementBytes,
          " bytes"));
    }
    absl::Status st = CheckTemplate(s);
    if (!st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": ", std::string(st.message())));
    }
    if (!password_allowed && UsesPlaceholder(s, "password")) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(what), ": {{password}} is only available in creation statements"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LeaseData> ParseLeaseData(std::string_view data) {
  LeaseData d;
  if (!d.ParseFromArray(data.data(), static_cast<int>(data.size())) ||
      d.username().empty() || d.connection().empty()) {
    return absl::DataLossError("database lease data is corrupt");
  }
  return d;
}

// Expands `statements` for `values` with the connection's quoter.
absl::StatusOr<std::vector<std::string>> ExpandAll(
    const std::vector<std::string>& statements, const TemplateValues& values,
    const Quoter& quoter) {
  std::vector<std::string> out;
  out.reserve(statements.size());
  for (const std::string& s : statements) {
    ASSIGN_OR_RETURN(std::string sql, ExpandTemplate(s, values, quoter));
    out.push_back(std::move(sql));
  }
  return out;
}

}  // namespace

Engine::Engine(barrier::View view, std::string mount)
    : view_(std::move(view)), mount_(std::move(mount)) {}

Engine::~Engine() = default;

absl::StatusOr<std::string> Engine::LeaseMount(std::string_view lease_data) {
  ASSIGN_OR_RETURN(LeaseData d, ParseLeaseData(lease_data));
  return d.mount();
}

absl::StatusOr<std::optional<ConnectionRecord>> Engine::LoadConnection(
    std::string_view name) {
  ASSIGN_OR_RETURN(auto raw, view_.Get(absl::StrCat(kConfigPrefix, std::string(name))));
  if (!raw.has_value()) return std::nullopt;
  ConnectionRecord r;
  if (!r.ParseFromString(*raw)) {
    return absl::DataLossError("database connection record is corrupt");
  }
  return r;
}

absl::Status Engine::StoreConnection(const ConnectionRecord& record) {
  std::string raw = record.SerializeAsString();
  absl::Status st = view_.Put(absl::StrCat(kConfigPrefix, record.name()), raw);
  sodium_memzero(raw.data(), raw.size());  // it held the password
  return st;
}

void Engine::DropPool(std::string_view name) {
  std::shared_ptr<ConnectionPool> old;
  {
    absl::MutexLock lock(&pools_mu_);
    auto it = pools_.find(name);
    if (it == pools_.end()) return;
    old = std::move(it->second);
    pools_.erase(it);
  }
  // Calls in flight keep their reference; it closes when they finish.
}

void Engine::CloseConnections() {
  std::map<std::string, std::shared_ptr<ConnectionPool>, std::less<>> old;
  absl::MutexLock lock(&pools_mu_);
  old.swap(pools_);
}

absl::StatusOr<std::shared_ptr<ConnectionPool>> Engine::PoolFor(
    std::string_view name) {
  // Held while reading the record, so a config write that drops the pool
  // cannot be overtaken by a pool made from the old record.
  absl::MutexLock lock(&pools_mu_);
  auto it = pools_.find(name);
  if (it != pools_.end()) return it->second;
  ASSIGN_OR_RETURN(std::optional<ConnectionRecord> r, LoadConnection(name));
  if (!r.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("database connection \"", std::string(name), "\" does not exist"));
  }
  auto pool = std::make_shared<ConnectionPool>(ParamsOf(*r, r->password()),
                                               r->max_open_connections());
  pools_.emplace(std::string(name), pool);
  return pool;
}

absl::Status Engine::WithPool(
    std::string_view name, absl::FunctionRef<absl::Status(ConnectionPool&)> fn) {
  ASSIGN_OR_RETURN(std::shared_ptr<ConnectionPool> pool, PoolFor(name));
  absl::Status st = fn(*pool);
  // A refused login happens at connect, before any statement ran, so `fn`
  // may run again.
  if (!IsAuthenticationFailure(st)) return st;
  bool changed = false;
  {
    absl::MutexLock lock(&config_mu_);
    ASSIGN_OR_RETURN(changed, ResolvePendingLocked(name));
  }
  if (!changed) return st;
  ASSIGN_OR_RETURN(pool, PoolFor(name));
  return fn(*pool);
}

absl::StatusOr<bool> Engine::ResolvePendingLocked(std::string_view name) {
  ASSIGN_OR_RETURN(std::optional<ConnectionRecord> r, LoadConnection(name));
  if (!r.has_value() || r->pending_password().empty()) return false;
  ConnectionPool pending(ParamsOf(*r, r->pending_password()), 1);
  absl::Status st = pending.Ping();
  if (st.ok()) {
    r->set_password(r->pending_password());
    r->clear_pending_password();
    r->set_root_rotated_unix_ms(absl::ToUnixMillis(absl::Now()));
    RETURN_IF_ERROR(StoreConnection(*r));
    DropPool(name);
    spdlog::info("database {}: connection {}: the pending admin password "
                 "from an interrupted rotation was accepted and is now "
                 "stored",
                 mount_, name);
    return true;
  }
  if (!IsAuthenticationFailure(st)) return st;
  ConnectionPool stored(ParamsOf(*r, r->password()), 1);
  RETURN_IF_ERROR(stored.Ping());
  r->clear_pending_password();
  RETURN_IF_ERROR(StoreConnection(*r));
  return true;
}

absl::StatusOr<ConnectionInfo> Engine::WriteConnection(
    const ConnectionConfig& config) {
  RETURN_IF_ERROR(CheckName("connection", config.name));
  RETURN_IF_ERROR(CheckConnectionUrl(config.connection_url));
  if (config.username.empty()) {
    return absl::InvalidArgumentError("username is required");
  }
  if (config.allowed_roles.size() > static_cast<size_t>(kMaxAllowedRoles)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "at most ", kMaxAllowedRoles, " allowed_roles are allowed"));
  }
  for (const std::string& role : config.allowed_roles) {
    if (role != "*") RETURN_IF_ERROR(CheckName("allowed role", role));
  }
  if (config.max_open_connections < 0 ||
      config.max_open_connections > kMaxOpenConnectionsLimit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_open_connections must be 0..", kMaxOpenConnectionsLimit));
  }
  absl::MutexLock lock(&config_mu_);
  ASSIGN_OR_RETURN(std::optional<ConnectionRecord> old,
                   LoadConnection(config.name));
  ConnectionRecord r;
  r.set_name(config.name);
  r.set_connection_url(config.connection_url);
  r.set_username(config.username);
  for (const std::string& role : config.allowed_roles) r.add_allowed_roles(role);
  r.set_max_open_connections(config.max_open_connections == 0
                                 ? kDefaultMaxOpenConnections
                                 : config.max_open_connections);
  if (!config.password.empty()) {
    r.set_password(std::string(config.password.Reveal()));
  } else if (old.has_value() &&
             (old->username() != config.username ||
              old->connection_url() != config.connection_url)) {
    // The stored password is only ever sent where it was configured for:
    // a new target could be a server that asks for it in cleartext.
    return absl::InvalidArgumentError(
        "connection_url or username changed: give the password again (the "
        "stored one is never sent to a new target)");
  } else if (old.has_value()) {
    r.set_password(old->password());
    r.set_pending_password(old->pending_password());
    r.set_root_rotated_unix_ms(old->root_rotated_unix_ms());
  }
  if (config.verify_connection) {
    ConnectionPool probe(ParamsOf(r, r.password()), 1);
    RETURN_IF_ERROR(probe.Ping());
  }
  RETURN_IF_ERROR(StoreConnection(r));
  DropPool(config.name);
  spdlog::info("database {}: connection {} written", mount_, config.name);
  return InfoOf(r);
}

absl::StatusOr<ConnectionInfo> Engine::ReadConnection(std::string_view name) {
  RETURN_IF_ERROR(CheckName("connection", name));
  ASSIGN_OR_RETURN(std::optional<ConnectionRecord> r, LoadConnection(name));
  if (!r.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("database connection \"", std::string(name), "\" does not exist"));
  }
  return InfoOf(*r);
}

absl::StatusOr<std::vector<std::string>> Engine::ListConnections() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, view_.List(kConfigPrefix));
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status Engine::DeleteConnection(std::string_view name) {
  RETURN_IF_ERROR(CheckName("connection", name));
  absl::WriterMutexLock issuing(&issue_mu_);
  absl::MutexLock lock(&config_mu_);
  ASSIGN_OR_RETURN(std::optional<ConnectionRecord> r, LoadConnection(name));
  if (!r.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("database connection \"", std::string(name), "\" does not exist"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> roles, ListRoles());
  for (const std::string& role : roles) {
    ASSIGN_OR_RETURN(RoleConfig c, ReadRole(role));
    if (c.db_name == name) {
      return absl::FailedPreconditionError(
          absl::StrCat("database connection \"", std::string(name),
                       "\" is used by role \"", role, "\"; delete it first"));
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> logins,
                   view_.List(LoginKey(name, "")));
  if (!logins.empty()) {
    // Entries whose login is already gone (a crash after creation failed,
    // or the operator dropped it) need no revocation: prune them.
    ASSIGN_OR_RETURN(std::shared_ptr<ConnectionPool> pool, PoolFor(name));
    size_t outstanding = 0;
    for (const std::string& username : logins) {
      absl::StatusOr<bool> exists = pool->RoleExists(username);
      if (exists.ok() && !*exists) {
        RETURN_IF_ERROR(view_.Delete(LoginKey(name, username)));
      } else {
        ++outstanding;  // present, or unknown while PostgreSQL is away
      }
    }
    if (outstanding > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database connection \"", std::string(name), "\": ", outstanding,
          " leases are still outstanding; revoke them first"));
    }
  }
  RETURN_IF_ERROR(view_.Delete(absl::StrCat(kConfigPrefix, std::string(name))));
  DropPool(name);
  spdlog::info("database {}: connection {} deleted", mount_, name);
  return absl::OkStatus();
}

absl::StatusOr<ConnectionInfo> Engine::RotateRoot(std::string_view name) {
  RETURN_IF_ERROR(CheckName("connection", name));
  absl::MutexLock lock(&config_mu_);
  // An earlier rotation cut short leaves a pending password; settle which
  // one PostgreSQL accepts before replacing it with another.
  RETURN_IF_ERROR(ResolvePendingLocked(name).status());
  ASSIGN_OR_RETURN(std::optional<ConnectionRecord> r, LoadConnection(name));
  if (!r.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("database connection \"", std::string(name), "\" does not exist"));
  }
  kms::SecretBytes fresh = NewPassword();
  r->set_pending_password(std::string(fresh.Reveal()));
  RETURN_IF_ERROR(StoreConnection(*r));

  ConnectionPool admin(ParamsOf(*r, r->password()), 1);
  absl::Status st = admin.Transaction(
      [&](const Quoter& q) -> absl::StatusOr<std::vector<std::string>> {
        ASSIGN_OR_RETURN(std::string literal, q.Literal(fresh.Reveal()));
        return std::vector<std::string>{
            absl::StrCat("ALTER ROLE CURRENT_USER WITH PASSWORD ", literal)};
      },
      {fresh.Reveal()});
  if (!st.ok()) {
    // Refused: the old password is still the one. Otherwise (connection
    // lost) the COMMIT may or may not have landed; the pending password
    // stays for ResolvePendingLocked to settle on the next use.
    if (absl::IsFailedPrecondition(st)) {
      r->clear_pending_password();
      (void)StoreConnection(*r);
    }
    return st;
  }
  r->set_password(std::string(fresh.Reveal()));
  r->clear_pending_password();
  r->set_root_rotated_unix_ms(absl::ToUnixMillis(absl::Now()));
  RETURN_IF_ERROR(StoreConnection(*r));
  DropPool(name);
  spdlog::info("database {}: connection {}: admin password rotated", mount_,
               name);
  return InfoOf(*r);
}

absl::StatusOr<RoleConfig> Engine::WriteRole(const RoleConfig& role) {
  RETURN_IF_ERROR(CheckName("role", role.name));
  RETURN_IF_ERROR(CheckName("connection", role.db_name));
  if (role.creation_statements.empty()) {
    return absl::InvalidArgumentError("creation_statements are required");
  }
  RETURN_IF_ERROR(CheckStatements("creation_statements",
                                  role.creation_statements, true));
  RETURN_IF_ERROR(CheckStatements("revocation_statements",
                                  role.revocation_statements, false));
  RETURN_IF_ERROR(
      CheckStatements("renew_statements", role.renew_statements, false));
  if (std::none_of(role.creation_statements.begin(),
                   role.creation_statements.end(), [](const std::string& s) {
                     return UsesPlaceholder(s, "name");
                   })) {
    return absl::InvalidArgumentError(
        "creation_statements must create the login {{name}}");
  }
  const absl::Duration def = absl::Seconds(role.default_ttl_seconds);
  const absl::Duration max = absl::Seconds(role.max_ttl_seconds);
  if (def < absl::ZeroDuration() || max < absl::ZeroDuration() ||
      def > kTtlLimit || max > kTtlLimit) {
    return absl::InvalidArgumentError("ttls must be 0..768h");
  }
  const absl::Duration eff_max = max == absl::ZeroDuration() ? kDefaultMaxTtl : max;
  const absl::Duration eff_def = def == absl::ZeroDuration() ? kDefaultTtl : def;
  if (eff_def > eff_max) {
    return absl::InvalidArgumentError(
        "default_ttl_seconds must not exceed max_ttl_seconds");
  }
  absl::MutexLock lock(&config_mu_);
  ASSIGN_OR_RETURN(std::optional<ConnectionRecord> conn,
                   LoadConnection(role.db_name));
  if (!conn.has_value()) {
    return absl::NotFoundError(absl::StrCat("database connection \"",
                                            role.db_name, "\" does not exist"));
  }
  RoleRecord r;
  r.set_name(role.name);
  r.set_db_name(role.db_name);
  for (const auto& s : role.creation_statements) r.add_creation_statements(s);
  for (const auto& s : role.revocation_statements) {
    r.add_revocation_statements(s);
  }
  for (const auto& s : role.renew_statements) r.add_renew_statements(s);
  r.set_default_ttl_seconds(absl::ToInt64Seconds(eff_def));
  r.set_max_ttl_seconds(absl::ToInt64Seconds(eff_max));
  RETURN_IF_ERROR(view_.Put(absl::StrCat(kRolePrefix, role.name),
                            r.SerializeAsString()));
  return ConfigOf(r);
}

absl::StatusOr<RoleConfig> Engine::ReadRole(std::string_view name) {
  RETURN_IF_ERROR(CheckName("role", name));
  ASSIGN_OR_RETURN(auto raw, view_.Get(absl::StrCat(kRolePrefix, std::string(name))));
  if (!raw.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("database role \"", std::string(name), "\" does not exist"));
  }
  RoleRecord r;
  if (!r.ParseFromString(*raw)) {
    return absl::DataLossError("database role record is corrupt");
  }
  return ConfigOf(r);
}

absl::StatusOr<std::vector<std::string>> Engine::ListRoles() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, view_.List(kRolePrefix));
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status Engine::DeleteRole(std::string_view name) {
  RETURN_IF_ERROR(CheckName("role", name));
  absl::MutexLock lock(&config_mu_);
  ASSIGN_OR_RETURN(auto raw, view_.Get(absl::StrCat(kRolePrefix, std::string(name))));
  if (!raw.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("database role \"", std::string(name), "\" does not exist"));
  }
  return view_.Delete(absl::StrCat(kRolePrefix, std::string(name)));
}

absl::StatusOr<IssuedLogin> Engine::CreateLogin(std::string_view role_name,
                                                absl::Duration requested_ttl) {
  if (requested_ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ttl must not be negative");
  }
  ASSIGN_OR_RETURN(RoleConfig role, ReadRole(role_name));
  // Shared: logins are created side by side, never while their connection
  // is being deleted.
  absl::ReaderMutexLock issuing(&issue_mu_);
  ASSIGN_OR_RETURN(std::optional<ConnectionRecord> conn,
                   LoadConnection(role.db_name));
  if (!conn.has_value()) {
    return absl::NotFoundError(absl::StrCat("database connection \"",
                                            role.db_name, "\" does not exist"));
  }
  const bool allowed =
      std::any_of(conn->allowed_roles().begin(), conn->allowed_roles().end(),
                  [&](const std::string& a) { return a == "*" || a == role.name; });
  if (!allowed) {
    return absl::PermissionDeniedError(
        absl::StrCat("database connection \"", role.db_name,
                     "\" does not allow role \"", role.name, "\""));
  }
  IssuedLogin login;
  login.max_ttl = absl::Seconds(role.max_ttl_seconds);
  login.ttl = requested_ttl == absl::ZeroDuration()
                  ? absl::Seconds(role.default_ttl_seconds)
                  : requested_ttl;
  login.ttl = std::min(login.ttl, login.max_ttl);
  login.username = NewUsername(role.name);
  login.password = NewPassword();
  // The lease, registered just after the login, ends a moment later.
  login.expiration = absl::Now() + login.ttl;
  TemplateValues values;
  values.name = login.username;
  values.password = &login.password;
  values.expiration = login.expiration;
  const std::string login_key = LoginKey(role.db_name, login.username);
  // The index entry is written while PostgreSQL creates the login: the two
  // waits overlap, and the entry is durable before the lease is registered
  // (a login whose lease was never registered lapses at VALID UNTIL).
  // Through the backend's group commit, so concurrent logins share a sync.
  absl::Notification indexed;
  absl::Status index_status = absl::FailedPreconditionError(
      "index entry not written");
  bool index_sent = false;
  absl::Status created = WithPool(role.db_name, [&](ConnectionPool& pool) {
    return pool.Transaction(
        [&](const Quoter& q) {
          return ExpandAll(role.creation_statements, values, q);
        },
        {login.password.Reveal()},
        [&] {
          if (index_sent) return;  // WithPool may run this twice
          index_sent = true;
          view_.BatchAsync({storage::Mutation::Put(login_key, "")},
                           [&](absl::Status st) {
                             index_status = std::move(st);
                             indexed.Notify();
                           });
        });
  });
  if (index_sent) indexed.WaitForNotification();
  if (created.ok() && !index_status.ok()) {
    created = index_status;
    DropFailedLogin(role.db_name, login.username,
                    absl::FailedPreconditionError("index entry not written"));
  } else if (!created.ok()) {
    DropFailedLogin(role.db_name, login.username, created);
  }
  if (!created.ok()) {
    (void)view_.Delete(login_key);
    return created;
  }
  LeaseData data;
  data.set_mount(mount_);
  data.set_connection(role.db_name);
  data.set_username(login.username);
  for (const auto& s : role.revocation_statements) {
    data.add_revocation_statements(s);
  }
  for (const auto& s : role.renew_statements) data.add_renew_statements(s);
  login.lease_data = data.SerializeAsString();
  return login;
}

absl::Status Engine::RevokeLogin(std::string_view lease_data) {
  ASSIGN_OR_RETURN(LeaseData d, ParseLeaseData(lease_data));
  std::vector<std::string> statements(d.revocation_statements().begin(),
                                      d.revocation_statements().end());
  if (statements.empty()) statements = DefaultRevocationStatements();
  TemplateValues values;
  values.name = d.username();
  values.expiration = absl::Now();
  absl::Status st = WithPool(d.connection(), [&](ConnectionPool& pool)
                                                  -> absl::Status {
    ASSIGN_OR_RETURN(bool exists, pool.RoleExists(d.username()));
    if (!exists) return absl::OkStatus();  // already gone: done
    return pool.Transaction([&](const Quoter& q) {
      return ExpandAll(statements, values, q);
    });
  });
  if (st.ok()) {
    spdlog::info("database {}: login {} dropped", mount_, d.username());
    if (absl::Status gone = view_.Delete(LoginKey(d.connection(), d.username()));
        !gone.ok()) {
      spdlog::warn("database {}: login {} dropped but its index entry "
                   "stays: {}",
                   mount_, d.username(), std::string(gone.message()));
    }
  }
  return st;
}

void Engine::DropFailedLogin(std::string_view connection,
                             std::string_view username,
                             const absl::Status& why) {
  // A creation statement may commit on its own ("...; COMMIT; ..."), so a
  // failed creation can still leave the login behind. Not tried while
  // PostgreSQL does not answer: the login then lapses at its VALID UNTIL.
  if (absl::IsUnavailable(why)) return;
  absl::StatusOr<std::shared_ptr<ConnectionPool>> pool = PoolFor(connection);
  absl::Status st = pool.status();
  if (pool.ok()) {
    st = (*pool)->Transaction(
        [&](const Quoter& q) -> absl::StatusOr<std::vector<std::string>> {
          ASSIGN_OR_RETURN(std::string id, q.Identifier(username));
          return std::vector<std::string>{
              absl::StrCat("DROP ROLE IF EXISTS ", id)};
        });
  }
  if (!st.ok()) {
    spdlog::error("database {}: creating login {} failed and it could not "
                  "be dropped; drop it by hand if it exists: {}",
                  mount_, username, std::string(st.message()));
  }
}

absl::Status Engine::RenewLogin(std::string_view lease_data,
                                absl::Time expiration) {
  ASSIGN_OR_RETURN(LeaseData d, ParseLeaseData(lease_data));
  std::vector<std::string> statements(d.renew_statements().begin(),
                                      d.renew_statements().end());
  if (statements.empty()) statements = DefaultRenewStatements();
  TemplateValues values;
  values.name = d.username();
  values.expiration = expiration;
  return WithPool(d.connection(), [&](ConnectionPool& pool) {
    return pool.Transaction(
        [&](const Quoter& q) { return ExpandAll(statements, values, q); });
  });
}

}  // namespace arca::engines::database

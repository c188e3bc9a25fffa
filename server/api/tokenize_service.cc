#include "server/api/tokenize_service.h"

#include <map>
#include <string>
#include <vector>

#include "kms/status_macros.h"
#include "server/api/handle.h"
#include "server/api/status.h"

namespace arca::api {
namespace {

using core::Capability;
using engines::tokenize::Engine;
namespace tk = engines::tokenize;

std::string_view MountOf(std::string_view mount) {
  return mount.empty() ? std::string_view("tokenize") : mount;
}

void ToProto(const tk::TemplateInfo& t, v1::TokenizeTemplate* out) {
  out->set_name(t.name);
  out->set_pattern(t.pattern);
  out->set_alphabet(t.alphabet);
  out->set_builtin(t.builtin);
}

void ToProto(const tk::TransformationInfo& t, v1::TokenizeTransformation* out) {
  out->set_name(t.name);
  out->set_type(std::string(tk::TransformationTypeName(t.options.type)));
  out->set_template_(t.options.template_name);
  out->set_alphabet(t.options.alphabet);
  if (t.options.type == tk::TransformationType::kFpe) {
    out->set_tweak_source(
        std::string(tk::TweakSourceName(t.options.tweak_source)));
  }
  if (t.options.luhn != tk::LuhnMode::kNone) {
    out->set_luhn(std::string(tk::LuhnModeName(t.options.luhn)));
  }
  out->set_convergent(t.options.convergent);
  out->set_ttl_ms(t.options.ttl_ms);
  out->set_allow_ff3_1(t.options.allow_ff3_1);
  if (t.options.type == tk::TransformationType::kMasking) {
    out->set_mask_character(std::string(1, t.options.mask_character));
  }
  out->set_latest_version(t.latest_version);
  out->set_created_time_unix_ms(t.created_time_unix_ms);
  out->set_updated_time_unix_ms(t.updated_time_unix_ms);
}

void ToProto(const tk::RoleInfo& r, v1::TokenizeRole* out) {
  out->set_name(r.name);
  for (const auto& t : r.transformations) out->add_transformations(t);
}

void Names(std::vector<std::string> names, v1::TokenizeListResponse* out) {
  for (auto& n : names) out->add_names(std::move(n));
}

template <typename Item>
tk::DecodeItem DecodeItemOf(const Item& in) {
  tk::DecodeItem item;
  item.value = in.value();
  item.tweak = in.tweak();
  item.key_version = in.key_version();
  return item;
}

template <typename Result>
void SetStatus(const absl::Status& s, Result* out) {
  out->set_code(static_cast<int>(s.code()));
  out->set_error(std::string(s.message()));
}

}  // namespace

std::string TokenizeResourcePath(std::string_view mount, std::string_view area,
                                 std::string_view name,
                                 std::string_view suffix) {
  std::string resource;
  resource.append(MountOf(mount)).append("/").append(area);
  if (!name.empty()) resource.append("/").append(name);
  if (!suffix.empty()) resource.append("/").append(suffix);
  return resource;
}

grpc::ServerUnaryReactor* TokenizeService::CreateTemplate(
    grpc::CallbackServerContext* ctx,
    const v1::TokenizeCreateTemplateRequest* req, v1::TokenizeTemplate* resp) {
  return Handle(
      core_, ctx, "tokenize.create_template",
      TokenizeResourcePath(req->mount(), "template", req->name(), ""),
      Capability::kCreate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(
            auto t, engine->CreateTemplate(req->name(),
                                           {req->pattern(), req->alphabet()}));
        ToProto(t, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::ReadTemplate(
    grpc::CallbackServerContext* ctx, const v1::TokenizeNameRequest* req,
    v1::TokenizeTemplate* resp) {
  return Handle(
      core_, ctx, "tokenize.read_template",
      TokenizeResourcePath(req->mount(), "template", req->name(), ""),
      Capability::kRead, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto t, engine->ReadTemplate(req->name()));
        ToProto(t, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::ListTemplates(
    grpc::CallbackServerContext* ctx, const v1::TokenizeListRequest* req,
    v1::TokenizeListResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.list_templates",
      TokenizeResourcePath(req->mount(), "template", "", ""), Capability::kList,
      *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto names, engine->ListTemplates());
        Names(std::move(names), resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::DeleteTemplate(
    grpc::CallbackServerContext* ctx, const v1::TokenizeNameRequest* req,
    v1::TokenizeDeleteResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.delete_template",
      TokenizeResourcePath(req->mount(), "template", req->name(), ""),
      Capability::kDelete, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        return engine->DeleteTemplate(req->name());
      });
}

grpc::ServerUnaryReactor* TokenizeService::CreateTransformation(
    grpc::CallbackServerContext* ctx,
    const v1::TokenizeCreateTransformationRequest* req,
    v1::TokenizeTransformation* resp) {
  return Handle(
      core_, ctx, "tokenize.create_transformation",
      TokenizeResourcePath(req->mount(), "transformation", req->name(), ""),
      Capability::kCreate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        tk::TransformationOptions o;
        ASSIGN_OR_RETURN(o.type, tk::ParseTransformationType(req->type()));
        o.template_name = req->template_();
        o.alphabet = req->alphabet();
        ASSIGN_OR_RETURN(o.tweak_source,
                         tk::ParseTweakSource(req->tweak_source()));
        ASSIGN_OR_RETURN(o.luhn, tk::ParseLuhnMode(req->luhn()));
        o.convergent = req->convergent();
        o.ttl_ms = req->ttl_ms();
        o.allow_ff3_1 = req->allow_ff3_1();
        if (!req->mask_character().empty()) {
          if (req->mask_character().size() != 1) {
            return absl::InvalidArgumentError(
                "mask character is one character");
          }
          o.mask_character = req->mask_character()[0];
        }
        ASSIGN_OR_RETURN(auto t, engine->CreateTransformation(req->name(), o));
        ToProto(t, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::ReadTransformation(
    grpc::CallbackServerContext* ctx, const v1::TokenizeNameRequest* req,
    v1::TokenizeTransformation* resp) {
  return Handle(
      core_, ctx, "tokenize.read_transformation",
      TokenizeResourcePath(req->mount(), "transformation", req->name(), ""),
      Capability::kRead, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto t, engine->ReadTransformation(req->name()));
        ToProto(t, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::ListTransformations(
    grpc::CallbackServerContext* ctx, const v1::TokenizeListRequest* req,
    v1::TokenizeListResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.list_transformations",
      TokenizeResourcePath(req->mount(), "transformation", "", ""),
      Capability::kList, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto names, engine->ListTransformations());
        Names(std::move(names), resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::DeleteTransformation(
    grpc::CallbackServerContext* ctx, const v1::TokenizeNameRequest* req,
    v1::TokenizeDeleteResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.delete_transformation",
      TokenizeResourcePath(req->mount(), "transformation", req->name(), ""),
      Capability::kDelete, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        return engine->DeleteTransformation(req->name());
      });
}

grpc::ServerUnaryReactor* TokenizeService::RotateTransformation(
    grpc::CallbackServerContext* ctx, const v1::TokenizeNameRequest* req,
    v1::TokenizeTransformation* resp) {
  return Handle(
      core_, ctx, "tokenize.rotate_transformation",
      TokenizeResourcePath(req->mount(), "transformation", req->name(),
                           "rotate"),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto t, engine->RotateTransformation(req->name()));
        ToProto(t, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::WriteRole(
    grpc::CallbackServerContext* ctx, const v1::TokenizeWriteRoleRequest* req,
    v1::TokenizeRole* resp) {
  return Handle(
      core_, ctx, "tokenize.write_role",
      TokenizeResourcePath(req->mount(), "role", req->name(), ""),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        std::vector<std::string> ts(req->transformations().begin(),
                                    req->transformations().end());
        ASSIGN_OR_RETURN(auto r, engine->WriteRole(req->name(), ts));
        ToProto(r, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::ReadRole(
    grpc::CallbackServerContext* ctx, const v1::TokenizeNameRequest* req,
    v1::TokenizeRole* resp) {
  return Handle(
      core_, ctx, "tokenize.read_role",
      TokenizeResourcePath(req->mount(), "role", req->name(), ""),
      Capability::kRead, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto r, engine->ReadRole(req->name()));
        ToProto(r, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::ListRoles(
    grpc::CallbackServerContext* ctx, const v1::TokenizeListRequest* req,
    v1::TokenizeListResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.list_roles",
      TokenizeResourcePath(req->mount(), "role", "", ""), Capability::kList,
      *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto names, engine->ListRoles());
        Names(std::move(names), resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::DeleteRole(
    grpc::CallbackServerContext* ctx, const v1::TokenizeNameRequest* req,
    v1::TokenizeDeleteResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.delete_role",
      TokenizeResourcePath(req->mount(), "role", req->name(), ""),
      Capability::kDelete, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        return engine->DeleteRole(req->name());
      });
}

grpc::ServerUnaryReactor* TokenizeService::Encode(
    grpc::CallbackServerContext* ctx, const v1::TokenizeEncodeRequest* req,
    v1::TokenizeEncodeResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.encode",
      TokenizeResourcePath(req->mount(), "encode", req->role(), ""),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        tk::EncodeItem item;
        item.value = req->value();
        item.tweak = req->tweak();
        item.metadata.insert(req->metadata().begin(), req->metadata().end());
        item.ttl_ms = req->ttl_ms();
        ASSIGN_OR_RETURN(
            auto r, engine->Encode(req->role(), req->transformation(), item));
        resp->set_token(std::move(r.token));
        resp->set_tweak(std::move(r.tweak));
        resp->set_key_version(r.key_version);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::BatchEncode(
    grpc::CallbackServerContext* ctx, const v1::TokenizeBatchEncodeRequest* req,
    v1::TokenizeBatchEncodeResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.batch_encode",
      TokenizeResourcePath(req->mount(), "encode", req->role(), ""),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        std::vector<tk::EncodeItem> items(req->items_size());
        for (int i = 0; i < req->items_size(); ++i) {
          const auto& in = req->items(i);
          items[i].value = in.value();
          items[i].tweak = in.tweak();
          items[i].metadata.insert(in.metadata().begin(), in.metadata().end());
          items[i].ttl_ms = in.ttl_ms();
          items[i].reference = in.reference();
        }
        ASSIGN_OR_RETURN(
            auto results,
            engine->BatchEncode(req->role(), req->transformation(), items));
        for (auto& r : results) {
          auto* out = resp->add_results();
          out->set_reference(std::move(r.reference));
          if (!r.status.ok()) {
            SetStatus(r.status, out);
            continue;
          }
          out->set_token(std::move(r.token));
          out->set_tweak(std::move(r.tweak));
          out->set_key_version(r.key_version);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::Decode(
    grpc::CallbackServerContext* ctx, const v1::TokenizeDecodeRequest* req,
    v1::TokenizeDecodeResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.decode",
      TokenizeResourcePath(req->mount(), "decode", req->role(), ""),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto r,
                         engine->Decode(req->role(), req->transformation(),
                                        DecodeItemOf(*req)));
        resp->set_value(std::move(r.value));
        for (auto& [k, v] : r.metadata) (*resp->mutable_metadata())[k] = v;
        resp->set_expire_time_unix_ms(r.expire_time_unix_ms);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::BatchDecode(
    grpc::CallbackServerContext* ctx, const v1::TokenizeBatchDecodeRequest* req,
    v1::TokenizeBatchDecodeResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.batch_decode",
      TokenizeResourcePath(req->mount(), "decode", req->role(), ""),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        std::vector<tk::DecodeItem> items;
        items.reserve(req->items_size());
        for (const auto& in : req->items()) {
          items.push_back(DecodeItemOf(in));
          items.back().reference = in.reference();
        }
        ASSIGN_OR_RETURN(
            auto results,
            engine->BatchDecode(req->role(), req->transformation(), items));
        for (auto& r : results) {
          auto* out = resp->add_results();
          out->set_reference(std::move(r.reference));
          if (!r.status.ok()) {
            SetStatus(r.status, out);
            continue;
          }
          out->set_value(std::move(r.value));
          for (auto& [k, v] : r.metadata) (*out->mutable_metadata())[k] = v;
          out->set_expire_time_unix_ms(r.expire_time_unix_ms);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::Validate(
    grpc::CallbackServerContext* ctx, const v1::TokenizeDecodeRequest* req,
    v1::TokenizeValidateResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.validate",
      TokenizeResourcePath(req->mount(), "validate", req->role(), ""),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto r,
                         engine->Validate(req->role(), req->transformation(),
                                          DecodeItemOf(*req)));
        resp->set_valid(r.valid);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::BatchValidate(
    grpc::CallbackServerContext* ctx, const v1::TokenizeBatchDecodeRequest* req,
    v1::TokenizeBatchValidateResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.batch_validate",
      TokenizeResourcePath(req->mount(), "validate", req->role(), ""),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        std::vector<tk::DecodeItem> items;
        items.reserve(req->items_size());
        for (const auto& in : req->items()) {
          items.push_back(DecodeItemOf(in));
          items.back().reference = in.reference();
        }
        ASSIGN_OR_RETURN(
            auto results,
            engine->BatchValidate(req->role(), req->transformation(), items));
        for (auto& r : results) {
          auto* out = resp->add_results();
          out->set_reference(std::move(r.reference));
          if (!r.status.ok()) {
            SetStatus(r.status, out);
            continue;
          }
          out->set_valid(r.valid);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TokenizeService::Lookup(
    grpc::CallbackServerContext* ctx, const v1::TokenizeLookupRequest* req,
    v1::TokenizeLookupResponse* resp) {
  return Handle(
      core_, ctx, "tokenize.lookup",
      TokenizeResourcePath(req->mount(), "lookup", req->role(), ""),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine,
                         core_->TokenizeEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(
            auto token,
            engine->Lookup(req->role(), req->transformation(), req->value()));
        resp->set_token(std::move(token));
        return absl::OkStatus();
      });
}

}  // namespace arca::api

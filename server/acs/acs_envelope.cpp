#include "ferry/server/acs/acs_envelope.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ferry/server/tat/tat_envelope.hpp"

namespace ferry::server {
namespace {

struct CodeStatus {
  std::string_view code;
  unsigned status;
};

// The wire's own codes, then every code of RunCommand's error table (seed 004) with its status.
constexpr CodeStatus kStatuses[] = {
    {acs_codes::kMissingParameter, 400},
    {acs_codes::kInvalidParameter, 400},
    {acs_codes::kInvalidVersion, 400},
    {acs_codes::kUnsupportedHttpMethod, 400},
    {acs_codes::kSignatureDoesNotMatch, 400},
    {acs_codes::kIncompleteSignature, 400},
    {acs_codes::kInvalidAccessKeyIdNotFound, 404},
    {acs_codes::kInvalidTimeStampFormat, 400},
    {acs_codes::kInvalidTimeStampExpired, 400},
    {acs_codes::kSignatureNonceUsed, 400},
    {acs_codes::kInvalidActionNotFound, 404},
    {acs_codes::kThrottlingUser, 400},
    {acs_codes::kRequestTooLarge, 413},
    {"RegionId.ApiNotSupported", 400},
    {"MissingParam.InstanceId", 400},
    {"NumberExceed.Tags", 400},
    {"InvalidTagValue.Malformed", 400},
    {"Duplicate.TagKey", 400},
    {"InvalidTagKey.Malformed", 400},
    {"MissingParameter.TagKey", 400},
    {"InvalidContainerId.Malformed", 400},
    {"InvalidContainerName.Malformed", 400},
    {"InvalidClientToken.Malformed", 400},
    {"CmdParam.EmptyKey", 400},
    {"CmdParam.InvalidParamName", 400},
    {"CmdContent.DecodeError", 400},
    {"InvalidInstance.NotMatch", 400},
    {"MissingParam.Frequency", 400},
    {"InvalidParam.Frequency", 400},
    {"ParameterKey.Duplicate", 400},
    {"Parameter.NotMatched", 400},
    {"WindowsPasswordName.Missed", 400},
    {"Parameter.Disabled", 400},
    {"InvalidParameter.WorkingDir", 400},
    {"NumberExceed.ResourceTags", 400},
    {"MissingParameter.ResourceTagKey", 400},
    {"InvalidResourceTagKey.Malformed", 400},
    {"InvalidResourceTagValue.Malformed", 400},
    {"Duplicate.ResourceTagKey", 400},
    {"InvalidResourceTag.InstanceNotFound", 400},
    {"InvalidResourceTag.ConflictWithInstanceIds", 400},
    {"CmdContent.ExceedLimit", 403},
    {"CmdName.ExceedLimit", 403},
    {"CmdDesc.ExceedLimit", 403},
    {"CmdCount.ExceedQuota", 403},
    {"CmdParamCount.ExceedLimit", 403},
    {"CmdParamName.ExceedLimit", 403},
    {"InstanceIds.ExceedLimit", 403},
    {"Invocation.ExceedQuota", 403},
    {"ParameterCount.ExceedLimit", 403},
    {"ParameterKey.ExceedLimit", 403},
    {"ParameterType.NotSupported", 403},
    {"Username.ExceedLimit", 403},
    {"WindowsPasswordName.ExceedLimit", 403},
    {"ParameterStore.NotSupported", 403},
    {"TemporaryAccessKey.Error", 403},
    {"ParameterStore.InvalidParameters", 403},
    {"ParameterStore.NoPermission", 403},
    {"OperationDenied.BidOwnResource", 403},
    {"Operation.Forbidden", 403},
    {"IdempotentParameterMismatch", 403},
    {"IdempotentProcessing", 403},
    {"InvalidStatus.ResourceGroup", 403},
    {"InvalidParameterCharacter.CommandName", 403},
    {"InvalidParameterCharacter.CommandDescription", 403},
    {"InvalidParameterCharacter.CommandWorkingDir", 403},
    {"InvalidLauncher.LengthLimitExceeded", 403},
    {"InvalidParameterCharset.Parameters", 403},
    {"InvalidCmdType.NotFound", 404},
    {"InvalidRepeatMode.NotFound", 404},
    {"InvalidRegionId.NotFound", 404},
    {"InvalidInstance.NotFound", 404},
    {"InvalidCmdId.NotFound", 404},
    {"InvalidResourceGroup.NotFound", 404},
    {"InvalidTerminationMode.NotFound", 404},
    {"InternalError.Dispatch", 500},
};

// Alibaba's error bodies point to its error center; ours point to the page that lists the codes.
constexpr const char* kRecommend = "ferry:docs/architecture.md#the-cloud-assistant-dialect";

std::string acs_json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

unsigned acs_http_status(std::string_view code) {
  if (code == acs_codes::kInternalError || code.starts_with("InternalError.")) {
    return 500;
  }
  const auto it = std::find_if(std::begin(kStatuses), std::end(kStatuses),
                               [code](const CodeStatus& c) { return c.code == code; });
  return it == std::end(kStatuses) ? 400 : it->status;
}

std::string new_acs_request_id() {
  std::string id = new_request_id();
  std::transform(id.begin(), id.end(), id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return id;
}

std::string acs_host_id(std::string_view host_header) {
  if (host_header.starts_with('[')) {
    const auto close = host_header.find(']');
    return std::string(
        host_header.substr(0, close == std::string_view::npos ? host_header.size() : close + 1));
  }
  return std::string(host_header.substr(0, host_header.find(':')));
}

HttpResponse acs_reply(nlohmann::json fields, const std::string& request_id) {
  if (!fields.is_object()) {
    fields = nlohmann::json::object();
  }
  fields.erase("Code");
  fields["RequestId"] = request_id;
  HttpResponse r;
  r.body = acs_json_text(fields);
  return r;
}

HttpResponse acs_error_response(const Error& error, const std::string& request_id,
                                const std::string& host_id) {
  HttpResponse r;
  r.status = acs_http_status(error.code);
  r.body = acs_json_text({{"RequestId", request_id},
                          {"HostId", host_id},
                          {"Code", error.code},
                          {"Message", error.message},
                          {"Recommend", kRecommend}});
  return r;
}

HttpResponse acs_error_response(const HttpError& error, const std::string& host_id) {
  const char* code = acs_codes::kInvalidParameter;
  switch (error.kind) {
    case HttpErrorKind::kBodyTooLarge:
    case HttpErrorKind::kHeaderTooLarge:
      code = acs_codes::kRequestTooLarge;
      break;
    case HttpErrorKind::kInternal:
      code = acs_codes::kInternalError;
      break;
    case HttpErrorKind::kNotFound:
      code = acs_codes::kInvalidActionNotFound;
      break;
    case HttpErrorKind::kMalformed:
      break;
  }
  HttpResponse r = acs_error_response(Error{code, error.message}, new_acs_request_id(), host_id);
  r.status = http_status(error.kind);
  return r;
}

}  // namespace ferry::server

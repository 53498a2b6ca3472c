// Commands: their fields as callers give them, the rules those fields follow (one place for
// CreateCommand, ModifyCommand, RunCommand and InvokeCommand), and the command actions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server::domain {

// DefaultParameters / DefaultParameterConfs checked and normalised, as a Command keeps them.
struct DefaultParameters {
  std::string json;  // Command::default_parameters
  std::vector<DefaultParameterConf>
      confs;  // Command::default_parameter_confs ({} when given as JSON)
};

// Which API's limits a command's free texts keep: TAT's (CommandName of [a-zA-Z0-9_.-] up to 60,
// Description up to 120, 10 tags) or Cloud Assistant's (Name and Description any text up to
// 128 and 512 characters, 20 tags). A command made through one API stays valid in the other's
// listings either way; only the checks of a new value differ.
enum class TextRules { kTat, kCloudAssistant };

// A command's fields as a caller gives them; nullopt: not given. For a new command
// (CreateCommand, RunCommand) what is not given takes the model's default; for ModifyCommand
// they are the changes; for InvokeCommand, the settings that override the saved command's
// (WorkingDirectory, Timeout, Username, OutputCOS*).
struct CommandFields {
  std::optional<std::string> command_name;
  std::optional<std::string> content;  // base64
  std::optional<std::string> description;
  std::optional<std::string> command_type;
  std::optional<std::string> working_directory;
  std::optional<int64_t> timeout;
  std::optional<bool> enable_parameter;
  std::optional<std::vector<Tag>> tags;
  std::optional<std::string> username;
  std::optional<std::string> output_cos_bucket_url;
  std::optional<std::string> output_cos_key_prefix;
  std::optional<DefaultParameters> defaults;  // from resolve_default_parameters
  std::optional<std::string> launcher;        // Cloud Assistant's Launcher ("" none)
  TextRules text_rules = TextRules::kTat;     // how CommandName, Description, Tags are checked
};

// The defaults in their two exclusive forms (InvalidParameter.ConflictParameter when both are
// given), allowed only with parameters on (InvalidParameterValue.
// SupportParametersOnlyIfEnableParameter), names valid and unique. nullopt when neither is given.
Expected<std::optional<DefaultParameters>> resolve_default_parameters(
    const std::optional<std::string>& json_text,
    const std::optional<std::vector<DefaultParameterConf>>& confs, bool enable_parameter);

// The fields of a new command (CreateCommand, RunCommand) as its rules see them: Content is
// there ("" when not given, which they refuse), and a "" Username means the default user.
CommandFields new_command_fields(CommandFields fields);

// The given fields written over `c`.
void apply_command_fields(const CommandFields& fields, Command& c);

// The rules of a run's execution settings for a command of `command_type`: a Launcher of at
// most 1 KB that parses (InvalidLauncher.LengthLimitExceeded, InvalidParameter), a
// TerminationMode of Process or ProcessTree (InvalidTerminationMode.NotFound), a ContainerId or a
// ContainerName as core's validators say (InvalidContainerId.Malformed,
// InvalidContainerName.Malformed); a container takes neither both, nor a Launcher, nor another
// type than SHELL (InvalidParameter).
Status check_execution(const ExecutionSettings& execution, std::string_view command_type);

// The value rules of every given field, in one order: CommandName (ASCII letters only unless
// `non_ascii_name`), Content, Description, CommandType, WorkingDirectory (for `directory_type`,
// the type the command ends up with; not checked without one), Timeout, Username,
// OutputCOSBucketUrl ("" is none; its syntax, http only to the hosts `settings` allows, not
// whether the server holds credentials for it), OutputCOSKeyPrefix, Tags.
Status check_command_fields(const ServerSettings& settings, const CommandFields& fields,
                            std::optional<std::string_view> directory_type,
                            bool non_ascii_name = false);

// The saved-command quota (ServerSettings::command_quota) is not used up.
// ResourceUnavailable.UserHasNoQuotaCode.
Status check_command_quota(ServerContext& ctx);

// A saved command (RunCommand keeps unsaved ones for their invocations' sake: those are not
// found here). ResourceNotFound.CommandNotFound.
Expected<Command> get_saved_command(ServerContext& ctx, const std::string& command_id);

// CreateCommand: a saved command of the given fields (CommandName and Content required).
// Returns its CommandId.
Expected<std::string> create_command(ServerContext& ctx, const CommandFields& fields);

// ModifyCommand: the given fields replace the saved command's; the name stays unique, and
// default parameters need the command's EnableParameter.
Status modify_command(ServerContext& ctx, const std::string& command_id,
                      const CommandFields& changes);

// Changes a saved command's tags through `mutate` (given the stored ones), in one transaction;
// the result must keep the tag rules (validate_tags with `max_tags`).
Expected<std::vector<Tag>> modify_command_tags(
    ServerContext& ctx, const std::string& command_id,
    const std::function<Status(std::vector<Tag>&)>& mutate, std::size_t max_tags);

// DeleteCommand(s): at most 100 saved commands, all or none.
// ResourceNotFound.CommandNotFound naming the first one missing.
Status delete_commands(ServerContext& ctx, const std::vector<std::string>& command_ids);

// The CommandIds of a listing: at most 100, each cmd-xxxxxxxx.
Status check_command_ids(const std::vector<std::string>& ids);
// DescribeCommands: a page of saved commands.
Expected<Page<Command>> describe_commands(ServerContext& ctx, const CommandQuery& query);

// PreviewReplacedCommandContent: exactly one of a saved command (with EnableParameter) and a
// Content; `parameters` (a JSON object's text) over the command's defaults.
struct PreviewRequest {
  std::optional<std::string> command_id;
  std::optional<std::string> content;  // base64
  std::optional<std::string> parameters;
};
// The script with the custom parameters replaced, base64; built-ins ({{ACS::InstanceId}}) stay
// as written since they belong to each instance.
Expected<std::string> preview_command_content(ServerContext& ctx, const PreviewRequest& request);

}  // namespace ferry::server::domain

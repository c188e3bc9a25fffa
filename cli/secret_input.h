#ifndef ARCA_CLI_SECRET_INPUT_H_
#define ARCA_CLI_SECRET_INPUT_H_

#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

namespace arca::cli {

// A source of unseal or rekey shares, one at a time. Shares never come from
// argv: either from standard input lines or from a no-echo terminal prompt.
// Not thread-safe; owned by the command that reads it.
class ShareSource {
 public:
  virtual ~ShareSource() = default;
  // The next share with surrounding whitespace removed, or nullopt when the
  // input is exhausted (end of stream, or an empty answer at a prompt).
  virtual std::optional<std::string> Next() = 0;
};

// Shares are the non-empty lines of `in` (whitespace-only lines skipped),
// read lazily so that nothing beyond what is needed is consumed. `in` must
// outlive the source.
std::unique_ptr<ShareSource> NewLineShareSource(std::istream& in);

// Prompts on `prompt_out` and reads one line from the terminal on stdin
// with echo turned off (termios), restoring the terminal afterwards, also
// on SIGINT. Stops after `max_shares` answers (0: no limit).
std::unique_ptr<ShareSource> NewPromptShareSource(std::istream& in,
                                                  std::ostream& prompt_out,
                                                  std::string prompt,
                                                  int max_shares);

// Overwrites a string's bytes before it is released.
void Wipe(std::string& s);

}  // namespace arca::cli

#endif  // ARCA_CLI_SECRET_INPUT_H_

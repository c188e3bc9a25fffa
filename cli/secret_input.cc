#include "cli/secret_input.h"

#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/ascii.h"

namespace arca::cli {

void Wipe(std::string& s) {
  if (!s.empty()) explicit_bzero(s.data(), s.size());
  s.clear();
}

namespace {

class LineShareSource final : public ShareSource {
 public:
  explicit LineShareSource(std::istream& in) : in_(in) {}

  std::optional<std::string> Next() override {
    std::string line;
    while (std::getline(in_, line)) {
      std::string share(absl::StripAsciiWhitespace(line));
      Wipe(line);
      if (!share.empty()) return share;
    }
    Wipe(line);
    return std::nullopt;
  }

 private:
  std::istream& in_;
};

// Terminal state to restore if the user interrupts a hidden prompt.
struct termios g_saved_termios;
volatile sig_atomic_t g_echo_disabled = 0;

void RestoreTerminalOnSignal(int sig) {
  if (g_echo_disabled) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  signal(sig, SIG_DFL);
  raise(sig);
}

class PromptShareSource final : public ShareSource {
 public:
  PromptShareSource(std::istream& in, std::ostream& out, std::string prompt,
                    int max_shares)
      : in_(in), out_(out), prompt_(std::move(prompt)), max_(max_shares) {}

  std::optional<std::string> Next() override {
    if (max_ > 0 && count_ >= max_) return std::nullopt;
    out_ << prompt_ << std::flush;
    const bool hidden = DisableEcho();
    std::string line;
    const bool got = static_cast<bool>(std::getline(in_, line));
    if (hidden) RestoreEcho();
    out_ << "\n" << std::flush;
    std::string share(absl::StripAsciiWhitespace(line));
    Wipe(line);
    if (!got || share.empty()) return std::nullopt;
    ++count_;
    return share;
  }

 private:
  bool DisableEcho() {
    if (tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) return false;
    struct termios quiet = g_saved_termios;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    old_int_ = signal(SIGINT, RestoreTerminalOnSignal);
    old_term_ = signal(SIGTERM, RestoreTerminalOnSignal);
    g_echo_disabled = 1;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
      RestoreEcho();
      return false;
    }
    return true;
  }

  void RestoreEcho() {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
    g_echo_disabled = 0;
    signal(SIGINT, old_int_);
    signal(SIGTERM, old_term_);
  }

  std::istream& in_;
  std::ostream& out_;
  const std::string prompt_;
  const int max_;
  int count_ = 0;
  sighandler_t old_int_ = SIG_DFL;
  sighandler_t old_term_ = SIG_DFL;
};

}  // namespace

std::unique_ptr<ShareSource> NewLineShareSource(std::istream& in) {
  return std::make_unique<LineShareSource>(in);
}

std::unique_ptr<ShareSource> NewPromptShareSource(std::istream& in,
                                                  std::ostream& prompt_out,
                                                  std::string prompt,
                                                  int max_shares) {
  return std::make_unique<PromptShareSource>(in, prompt_out, std::move(prompt),
                                             max_shares);
}

}  // namespace arca::cli

// The command-line layer of kiln's tools (kiln-opt, kiln-bench; kiln-fuzz may adopt it):
// options declared once give the parser, --help and --version, and every way a run ends maps
// to one of the documented exit codes below, never an abort. Header-only, so any tool can
// include it without a build change.
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "ir/diag.h"
#include "tools/version.h"

namespace kiln::cli {

// The exit codes of every kiln tool; each tool's --help lists them in its own words.
constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;  // the tool ran and found a wrong answer
constexpr int kExitUsage = 2;        // the command line is wrong
constexpr int kExitBadInput = 3;     // the input cannot be read, parsed or compiled
constexpr int kExitInternal = 4;     // a bug in kiln, or out of memory

// A wrong command line; run_main() and Parser::parse() print it and exit kExitUsage.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A check the tool ran found a wrong answer; run_main() prints it and exits kExitCheckFailed.
class CheckFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void usage_error(fmt::format_string<Args...> format, Args &&...args) {
  throw UsageError(fmt::format(format, std::forward<Args>(args)...));
}

// A whole decimal number in [lo, hi]: no sign on unsigned types, no base prefix, no spaces,
// nothing after it; overflow is out of range, never wrapped or saturated.
template <class T>
[[nodiscard]] T parse_integer(std::string_view text, T lo, T hi) {
  T value{};
  const char *end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < lo || value > hi)
    usage_error("expected an integer from {} to {}, got '{}'", lo, hi, text);
  return value;
}

// A finite decimal number above `above`.
[[nodiscard]] inline double parse_number_above(std::string_view text, double above) {
  double value = 0;
  const char *end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !(value > above) || value > 1e300)
    usage_error("expected a number above {}, got '{}'", above, text);
  return value;
}

// "a,b,,c" -> {"a", "b", "c"}.
[[nodiscard]] inline std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    if (comma != 0) items.emplace_back(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return items;
}

// Declares a tool's options, parses argv, and prints --help and --version.
// Options are "--name" (a switch) or "--name=VALUE" / "--name VALUE"; "-" is a positional
// argument (stdin by convention) and "--" ends the options.
class Parser {
 public:
  // usage: the line after "usage: "; about: what the tool does, one paragraph or more.
  Parser(std::string tool, std::string usage, std::string about)
      : tool_(std::move(tool)), usage_(std::move(usage)), about_(std::move(about)) {}

  // A switch. An empty help hides it from --help (internal switches).
  void flag(std::string name, std::string help, std::function<void()> on) {
    specs_.push_back({std::move(name), "", std::move(help), std::move(on), {}});
  }
  void flag(std::string name, std::string help, bool &target) {
    flag(std::move(name), std::move(help), [&target] { target = true; });
  }
  // An option with a value; `on` may throw UsageError, which is reported under the option.
  void option(std::string name, std::string value_name, std::string help,
              std::function<void(std::string_view)> on) {
    specs_.push_back({std::move(name), std::move(value_name), std::move(help), {}, std::move(on)});
  }
  // The one positional argument the tool takes, if any.
  void positional(std::function<void(std::string_view)> on) { positional_ = std::move(on); }
  // Every positional argument, in order (a command and its arguments).
  void positionals(std::function<void(std::string_view)> on) {
    positional_ = std::move(on);
    many_positionals_ = true;
  }
  // The meaning of each exit code for this tool, listed at the end of --help.
  void exit_codes(std::vector<std::pair<int, std::string>> codes) { codes_ = std::move(codes); }

  // Help texts may hold '\n'; continuation lines are indented under the first.
  [[nodiscard]] std::string help() const {
    std::string out = fmt::format("usage: {}\n{}\n\noptions:\n", usage_, about_);
    auto row = [&](std::string left, std::string_view text, size_t width) {
      if (left.size() >= width) left += "\n" + std::string(width + 2, ' ');
      out += fmt::format("  {:<{}}{}\n", left, width, indent(text, width + 2));
    };
    for (const Spec &s : specs_)
      if (!s.help.empty())
        row(s.value_name.empty() ? s.name : s.name + "=" + s.value_name, s.help, 22);
    row("-h, --help", "print this help and exit", 22);
    row("--version", "print the version and exit", 22);
    if (!codes_.empty()) out += "\nexit status:\n";
    for (const auto &[code, text] : codes_) row(std::to_string(code), text, 3);
    return out;
  }

  // Exits 0 after --help or --version, and kExitUsage after printing a usage error.
  void parse(int argc, char **argv) {
    try {
      parse_or_throw(argc, argv);
    } catch (const UsageError &e) {
      std::exit(report_usage_error(e.what()));
    }
  }

  [[nodiscard]] const std::string &tool() const { return tool_; }

  // Prints "<tool>: <message>" and a hint to stderr; returns kExitUsage.
  int report_usage_error(std::string_view message) const {
    fmt::print(stderr, "{}: {}\n  hint: '{} --help' lists the options\n", tool_, message, tool_);
    return kExitUsage;
  }

 private:
  struct Spec {
    std::string name, value_name, help;
    std::function<void()> on_flag;
    std::function<void(std::string_view)> on_value;
  };

  static std::string indent(std::string_view text, size_t by) {
    std::string out;
    for (char c : text) out += c == '\n' ? "\n" + std::string(by, ' ') : std::string(1, c);
    return out;
  }

  const Spec *find(std::string_view name) const {
    for (const Spec &s : specs_)
      if (s.name == name) return &s;
    return nullptr;
  }

  void parse_or_throw(int argc, char **argv) {
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (options_done || arg == "-" || !arg.starts_with("-")) {
        if (!positional_) usage_error("unexpected argument '{}'", arg);
        positional_(arg);
        if (!many_positionals_) positional_ = {};  // one positional argument at most
        continue;
      }
      if (arg == "--") {
        options_done = true;
        continue;
      }
      if (arg == "--help" || arg == "-h") {
        fmt::print("{}", help());
        std::exit(kExitOk);
      }
      if (arg == "--version") {
        fmt::print("{} {}\n", tool_, KILN_VERSION);
        std::exit(kExitOk);
      }
      const size_t eq = arg.find('=');
      const std::string_view name = arg.substr(0, eq);
      const Spec *spec = find(name);
      if (spec == nullptr) usage_error("unknown option '{}'", name);
      if (spec->on_flag) {
        if (eq != std::string_view::npos)
          usage_error("{}: expected no value, got '{}'", name, arg.substr(eq + 1));
        spec->on_flag();
        continue;
      }
      if (eq == std::string_view::npos && i + 1 == argc)
        usage_error("{}: expected a value, as in {}={}", name, name, spec->value_name);
      const std::string_view value = eq != std::string_view::npos ? arg.substr(eq + 1) : argv[++i];
      try {
        spec->on_value(value);
      } catch (const UsageError &e) {
        usage_error("{}: {}", name, e.what());
      }
    }
  }

  std::string tool_, usage_, about_;
  std::vector<Spec> specs_;
  std::function<void(std::string_view)> positional_;
  bool many_positionals_ = false;
  std::vector<std::pair<int, std::string>> codes_;
};

// Runs a tool's body and turns every exception into a message on stderr and an exit code:
// UsageError is kExitUsage, CheckFailed kExitCheckFailed, kiln::InternalError and anything
// unexpected kExitInternal, other kiln::Errors (the input's fault) kExitBadInput.
[[nodiscard]] inline int run_main(const Parser &parser, const std::function<int()> &body) {
  auto say = [](const std::string &text) {
    std::fflush(stdout);
    fmt::print(stderr, "{}\n", text);
  };
  const std::string &tool = parser.tool();
  try {
    return body();
  } catch (const UsageError &e) {
    std::fflush(stdout);
    return parser.report_usage_error(e.what());
  } catch (const CheckFailed &e) {
    say(e.what());
    return kExitCheckFailed;
  } catch (const InternalError &e) {
    say(e.what());
    return kExitInternal;
  } catch (const Error &e) {
    say(e.what());
    return kExitBadInput;
  } catch (const std::bad_alloc &) {
    say(tool + ": out of memory");
    return kExitInternal;
  } catch (const std::exception &e) {
    say(fmt::format("{}: internal error: {}\n  note: this is a bug in kiln; please report it", tool,
                    e.what()));
    return kExitInternal;
  }
}

}  // namespace kiln::cli

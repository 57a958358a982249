// Parses the IR text form (STYLE.md §4) into a verified Graph. A lexer turns the text into
// tokens that carry their line and column; every error points at the token it is about.
#include "ir/parser.h"

#include <charconv>
#include <limits>
#include <optional>
#include <unordered_map>

#include "ir/diag.h"
#include "ir/substitute_sizes.h"
#include "ir/verify.h"

namespace kiln::ir {

namespace {

enum class TokenKind : uint8_t { End, Ident, Number, Local, Global, String, Punct };

struct Token {
  TokenKind kind = TokenKind::End;
  std::string text;  // as written, except: names lose their % or @, strings are unescaped
  int line = 1;
  int col = 1;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
bool is_name_char(char c) { return is_ident_char(c) || c == '.'; }

// A number token is a double when it has a fraction, an exponent, or is inf or nan.
bool is_double_text(std::string_view s) {
  return s.find_first_of(".eE") != std::string_view::npos || s.ends_with("inf") ||
         s.ends_with("nan");
}

bool is_number(std::string_view s) {
  if (s.starts_with('-')) s.remove_prefix(1);
  if (s == "inf" || s == "nan") return true;
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return !s.empty() && is_digit(s[0]) && end == s.data() + s.size();
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (DType d : kAllDTypes)
    if (dtype_name(d) == name) return d;
  return std::nullopt;
}

class Lexer {
 public:
  Lexer(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  std::vector<Token> tokens() {
    std::vector<Token> out;
    do out.push_back(next());
    while (out.back().kind != TokenKind::End);
    return out;
  }

 private:
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool at_end() const { return pos_ >= text_.size(); }

  void advance() {
    if (text_[pos_++] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
  }

  template <class Pred>
  std::string take_while(Pred pred) {
    std::string out;
    while (!at_end() && pred(peek())) {
      out += peek();
      advance();
    }
    return out;
  }

  [[noreturn]] void error(const Token &at, std::string_view what) const {
    fail("{}:{}:{}: error: {}", source_, at.line, at.col, what);
  }

  void skip_space_and_comments() {
    while (!at_end()) {
      char c = peek();
      if (c == '#')
        take_while([](char ch) { return ch != '\n'; });
      else if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        advance();
      else
        return;
    }
  }

  Token next() {
    skip_space_and_comments();
    Token t{TokenKind::End, "", line_, col_};
    if (at_end()) return t;
    char c = peek();
    if (c == '%' || c == '@') {
      advance();
      t.kind = c == '%' ? TokenKind::Local : TokenKind::Global;
      t.text = take_while(is_name_char);
      if (t.text.empty()) error(t, fmt::format("expected a name after '{}'", c));
      return t;
    }
    if (is_ident_start(c)) {
      t.kind = TokenKind::Ident;
      t.text = take_while(is_ident_char);
      return t;
    }
    if (is_digit(c) || (c == '-' && is_name_char(peek(1)))) return number(std::move(t));
    if (c == '"') return string(std::move(t));
    t.kind = TokenKind::Punct;
    if (c == '-' && peek(1) == '>') {
      advance();
      advance();
      t.text = "->";
      return t;
    }
    if (std::string_view("()[]{},:=*").find(c) == std::string_view::npos)
      error(t, fmt::format("unexpected character '{}'", c));
    advance();
    t.text = c;
    return t;
  }

  // [-] inf, [-] nan, or a run of digits, '.', 'e' and exponent signs that from_chars
  // reads in full.
  Token number(Token t) {
    t.kind = TokenKind::Number;
    if (peek() == '-') {
      t.text += '-';
      advance();
    }
    char prev = '\0';
    t.text += take_while([&](char c) {
      bool exponent_sign = (c == '+' || c == '-') && (prev == 'e' || prev == 'E');
      prev = c;
      return is_name_char(c) || exponent_sign;
    });
    if (!is_number(t.text)) error(t, fmt::format("malformed number '{}'", t.text));
    return t;
  }

  // A double-quoted string; \" and \\ are the only escapes.
  Token string(Token t) {
    t.kind = TokenKind::String;
    advance();
    while (!at_end() && peek() != '"') {
      if (peek() == '\\') {
        Token escape{TokenKind::String, "", line_, col_};
        advance();
        if (peek() != '"' && peek() != '\\')
          error(escape,
                fmt::format("unknown escape '\\{}' in string: expected \\\" or \\\\", peek()));
      }
      t.text += peek();
      advance();
    }
    if (at_end()) error(t, "unterminated string");
    advance();
    return t;
  }

  std::string_view text_;
  std::string_view source_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string_view source)
      : tokens_(std::move(tokens)), source_(source) {}

  Graph parse_graph() {
    expect_word("graph");
    const Token &name = next();
    if (name.kind != TokenKind::Global) error(name, "expected a graph name such as '@f'");
    g_.name = name.text;
    expect("(");
    if (!at(")")) comma_list([&] { parse_input(); });
    expect(")");
    expect("->");
    std::vector<TensorType> results = parse_result_types();
    parse_where();
    expect("{");
    while (peek().kind == TokenKind::Local) parse_node();
    if (!at_word("return")) error(peek(), "expected an instruction or 'return'");
    parse_return(next(), results);
    expect("}");
    if (peek().kind != TokenKind::End) error(peek(), "expected end of input after '}'");
    return std::move(g_);
  }

 private:
  const Token &peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token &next() {
    const Token &t = peek();
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool at(std::string_view punct) const {
    return peek().kind == TokenKind::Punct && peek().text == punct;
  }
  bool at_word(std::string_view word) const {
    return peek().kind == TokenKind::Ident && peek().text == word;
  }
  bool accept(std::string_view punct) { return at(punct) && (next(), true); }
  void expect(std::string_view punct) {
    if (!accept(punct)) error(peek(), fmt::format("expected '{}'", punct));
  }
  void expect_word(std::string_view word) {
    if (!at_word(word)) error(peek(), fmt::format("expected '{}'", word));
    next();
  }

  // item (, item)*
  template <class Fn>
  void comma_list(Fn item) {
    do item();
    while (accept(","));
  }

  [[noreturn]] void error(const Token &at, std::string_view what) const {
    fail("{}:{}:{}: error: {}", source_, at.line, at.col, what);
  }

  int64_t to_int(const Token &t) const {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), value);
    if (ec != std::errc() || end != t.text.data() + t.text.size())
      error(t, fmt::format("integer {} does not fit in i64", t.text));
    return value;
  }

  double to_double(const Token &t) const {
    std::string_view s = t.text;
    bool negative = s.starts_with('-');
    if (s.ends_with("inf"))
      return negative ? -std::numeric_limits<double>::infinity()
                      : std::numeric_limits<double>::infinity();
    if (s.ends_with("nan")) return std::numeric_limits<double>::quiet_NaN();
    double value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size())
      error(t, fmt::format("number {} is out of range for f64", t.text));
    return value;
  }

  // `s0`, `s1`, …: a symbolic size (dynamic shapes), read as its witness.
  std::optional<int64_t> symbol_size(const Token &t) const {
    if (t.kind != TokenKind::Ident || t.text.size() < 2 || t.text[0] != 's') return std::nullopt;
    int k = 0;
    auto [end, ec] = std::from_chars(t.text.data() + 1, t.text.data() + t.text.size(), k);
    if (ec != std::errc() || end != t.text.data() + t.text.size()) return std::nullopt;
    if (k >= kMaxSymbols)
      error(t, fmt::format("symbol '{}': at most {} symbols, s0 to s{}", t.text, kMaxSymbols,
                           kMaxSymbols - 1));
    return witness_sizes(k + 1, 0)[k];
  }

  // A size, or a product of sizes and symbols (`4*s0`, `s0*s1`: sizes computed from the
  // symbols), read at the witnesses.
  int64_t size_product(const Token &first, std::string_view what) {
    const std::optional<int64_t> symbol = symbol_size(first);
    int64_t v = symbol ? *symbol : to_size(first, what);
    while (accept("*")) {
      const Token &t = next();
      const std::optional<int64_t> s = symbol_size(t);
      if (__builtin_mul_overflow(v, s ? *s : to_size(t, what), &v))
        error(t, "the product of sizes overflows a 64-bit integer");
    }
    return v;
  }

  // A non-negative integer: a dimension size or a device index.
  int64_t to_size(const Token &t, std::string_view what) const {
    if (t.kind != TokenKind::Number || is_double_text(t.text) || t.text.starts_with('-'))
      error(t, fmt::format("expected {} (a non-negative integer)", what));
    return to_int(t);
  }

  TensorType parse_type() {
    const Token &t = next();
    if (t.kind != TokenKind::Ident) error(t, "expected a type such as 'f32[2,3]'");
    std::optional<DType> dtype = dtype_from_name(t.text);
    if (!dtype)
      error(t, fmt::format("unknown dtype '{}': expected one of bool, i32, i64, f32, f64", t.text));
    expect("[");
    Shape shape;
    if (!at("]")) comma_list([&] { shape.push_back(size_product(next(), "a dimension size")); });
    expect("]");
    int64_t count = 1;
    for (int64_t d : shape)
      if (__builtin_mul_overflow(count, d, &count))
        error(t, fmt::format("type {} has too many elements: the count overflows a 64-bit integer",
                             TensorType{*dtype, shape}.str()));
    return {*dtype, shape};
  }

  std::vector<TensorType> parse_result_types() {
    if (!accept("(")) return {parse_type()};
    std::vector<TensorType> types;
    if (!at(")")) comma_list([&] { types.push_back(parse_type()); });
    expect(")");
    return types;
  }

  void parse_input() {
    const Token &name = next();
    if (name.kind != TokenKind::Local) error(name, "expected an input such as '%x: f32[2,3]'");
    if (is_digit(name.text[0]))
      error(name, fmt::format("input name '%{}' must start with a letter or '_'", name.text));
    expect(":");
    TensorType type = parse_type();
    check_new(name);
    values_[name.text] = g_.add_input(name.text, type);
  }

  // where [device=cpu, name=value, …]
  void parse_where() {
    expect_word("where");
    expect("[");
    expect_word("device");
    expect("=");
    g_.device = parse_device();
    while (accept(",")) {
      const Token &name = next();
      if (name.kind != TokenKind::Ident) error(name, "expected a guard name");
      for (const ScalarGuard &guard : g_.scalar_guards)
        if (guard.name == name.text) error(name, fmt::format("duplicate guard '{}'", name.text));
      expect("=");
      const Token &value = next();
      if (value.kind != TokenKind::Number && value.kind != TokenKind::Ident)
        error(value, "expected a guard value such as 0.5 or true");
      g_.scalar_guards.push_back({name.text, value.text});
    }
    expect("]");
  }

  Device parse_device() {
    const Token &t = next();
    if (t.kind == TokenKind::Ident && t.text == "cpu") return Device::cpu();
    if (t.kind != TokenKind::Ident || t.text != "cuda")
      error(t, fmt::format("unknown device '{}': expected cpu or cuda:N", t.text));
    expect(":");
    const Token &index = next();
    int64_t n = to_size(index, "a device index");
    if (n > std::numeric_limits<int>::max()) error(index, "device index is too large");
    return Device::cuda(static_cast<int>(n));
  }

  // %name: type = op[attrs] operands
  void parse_node() {
    const Token &name = next();
    check_new(name);
    expect(":");
    TensorType type = parse_type();
    expect("=");
    const Token &op_token = next();
    if (op_token.kind != TokenKind::Ident) error(op_token, "expected an op name");
    std::optional<OpKind> op = op_from_name(op_token.text);
    if (!op) error(op_token, fmt::format("unknown op '{}'", op_token.text));
    Attrs attrs = at("[") ? parse_attrs() : Attrs{};
    // Operands follow unless the next line begins: a name followed by ':' defines a value.
    bool has_operands = peek().kind == TokenKind::Local &&
                        !(peek(1).kind == TokenKind::Punct && peek(1).text == ":");
    std::vector<ValueId> operands;
    std::vector<TensorType> types;
    if (has_operands)
      comma_list([&] {
        operands.push_back(use(next()));
        types.push_back(g_.type(operands.back()));
      });
    std::string problem = node_problem(*op, types, attrs, type);
    if (!problem.empty()) error(op_token, fmt::format("{}: {}", op_token.text, problem));
    values_[name.text] = g_.add_node_typed(*op, std::move(operands), std::move(attrs), type);
  }

  Attrs parse_attrs() {
    expect("[");
    Attrs attrs;
    if (!at("]"))
      comma_list([&] {
        const Token &key = next();
        if (key.kind != TokenKind::Ident) error(key, "expected an attribute name");
        if (attrs.has(key.text)) error(key, fmt::format("duplicate attribute '{}'", key.text));
        expect("=");
        attrs.set(key.text, parse_attr_value());
      });
    expect("]");
    return attrs;
  }

  AttrValue parse_attr_value() {
    const Token &t = next();
    if (t.kind == TokenKind::Number) {
      if (is_double_text(t.text)) return to_double(t);
      return to_int(t);
    }
    if (t.kind == TokenKind::String) return t.text;
    if (t.kind == TokenKind::Punct && t.text == "[") {
      std::vector<int64_t> items;
      if (!at("]"))
        comma_list([&] {
          const Token &item = next();
          if (symbol_size(item) || at("*")) return items.push_back(size_product(item, "a size"));
          if (item.kind != TokenKind::Number || is_double_text(item.text))
            error(item, "expected an integer in the list");
          items.push_back(to_int(item));
        });
      expect("]");
      return items;
    }
    if (t.kind != TokenKind::Ident) error(t, "expected an attribute value");
    if (std::optional<int64_t> symbol = symbol_size(t)) return *symbol;
    if (t.text == "true" || t.text == "false") return t.text == "true";
    if (t.text == "inf" || t.text == "nan") return to_double(t);
    if (std::optional<DType> dtype = dtype_from_name(t.text)) return *dtype;
    error(t, fmt::format("unknown attribute value '{}': expected a number, true, false, a "
                         "dtype, a \"string\" or an integer [list]",
                         t.text));
  }

  void parse_return(const Token &ret, const std::vector<TensorType> &results) {
    std::vector<const Token *> names;
    if (peek().kind == TokenKind::Local)
      comma_list([&] {
        names.push_back(&next());
        g_.outputs.push_back(use(*names.back()));
      });
    if (names.size() != results.size())
      error(ret, fmt::format("return value count does not match the signature: expected {}, got {}",
                             results.size(), names.size()));
    for (size_t i = 0; i < names.size(); ++i)
      if (g_.type(g_.outputs[i]) != results[i])
        error(*names[i],
              fmt::format("type of '%{}' does not match the signature: expected {}, got {}",
                          names[i]->text, results[i].str(), g_.type(g_.outputs[i]).str()));
  }

  ValueId use(const Token &t) const {
    if (t.kind != TokenKind::Local) error(t, "expected a value such as '%0'");
    auto it = values_.find(t.text);
    if (it == values_.end()) error(t, fmt::format("use of undefined value '%{}'", t.text));
    return it->second;
  }

  void check_new(const Token &t) const {
    if (values_.contains(t.text)) error(t, fmt::format("redefinition of value '%{}'", t.text));
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::string_view source_;
  Graph g_;
  std::unordered_map<std::string, ValueId> values_;  // by the name written in the text
};

}  // namespace

Graph parse(std::string_view text, std::string_view source) {
  Graph g = Parser(Lexer(text, source).tokens(), source).parse_graph();
  try {
    verify(g);
  } catch (const Error &e) {
    fail("{}: error: {}", source, e.what());
  }
  return g;
}

}  // namespace kiln::ir

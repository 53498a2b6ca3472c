#include "s3_xml.hpp"

#include <cstdint>

#include "ferry/core/error_codes.hpp"

namespace ferry::agent::upload::s3_xml {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Skips what may stand before the root element: whitespace, <?...?>, <!--...--> and <!...>.
std::size_t skip_prolog(std::string_view xml) {
  std::size_t at = 0;
  while (at < xml.size()) {
    if (is_space(xml[at])) {
      ++at;
      continue;
    }
    const std::string_view rest = xml.substr(at);
    std::string_view end;
    if (rest.starts_with("<?")) {
      end = "?>";
    } else if (rest.starts_with("<!--")) {
      end = "-->";
    } else if (rest.starts_with("<!")) {
      end = ">";
    } else {
      return at;
    }
    const std::size_t close = xml.find(end, at + 2);
    if (close == std::string_view::npos) {
      return xml.size();
    }
    at = close + end.size();
  }
  return at;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// &#34; or &#x22; (the text between '&#' and ';'): the code point, or nullopt.
std::optional<std::uint32_t> char_reference(std::string_view digits) {
  int base = 10;
  if (!digits.empty() && (digits.front() == 'x' || digits.front() == 'X')) {
    base = 16;
    digits.remove_prefix(1);
  }
  if (digits.empty() || digits.size() > 6) {
    return std::nullopt;
  }
  std::uint32_t cp = 0;
  for (char c : digits) {
    int d = -1;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    }
    if (d < 0) {
      return std::nullopt;
    }
    cp = cp * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(d);
  }
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return std::nullopt;
  }
  return cp;
}

// One entity's text (between '&' and ';') decoded into `out`; false when it is not one.
bool decode_entity(std::string_view name, std::string& out) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  for (const auto& [entity, c] : kNamed) {
    if (name == entity) {
      out += c;
      return true;
    }
  }
  if (name.starts_with("#")) {
    if (auto cp = char_reference(name.substr(1))) {
      append_utf8(out, *cp);
      return true;
    }
  }
  return false;
}

std::string decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t amp = text.find('&', at);
    if (amp == std::string_view::npos) {
      out.append(text.substr(at));
      break;
    }
    out.append(text.substr(at, amp - at));
    const std::size_t semi = text.find(';', amp);
    // An entity is short; a lone '&' (not well-formed, but seen) stays as it is.
    if (semi != std::string_view::npos && semi - amp <= 10 &&
        decode_entity(text.substr(amp + 1, semi - amp - 1), out)) {
      at = semi + 1;
    } else {
      out += '&';
      at = amp + 1;
    }
  }
  return out;
}

bool is_name_end(char c) {
  return is_space(c) || c == '>' || c == '/';
}

}  // namespace

std::string root_element(std::string_view xml) {
  const std::size_t at = skip_prolog(xml);
  if (at >= xml.size() || xml[at] != '<') {
    return "";
  }
  std::size_t end = at + 1;
  while (end < xml.size() && !is_name_end(xml[end])) {
    ++end;
  }
  return std::string(xml.substr(at + 1, end - at - 1));
}

std::optional<std::string> element_text(std::string_view xml, std::string_view name) {
  const std::string open = "<" + std::string(name);
  std::size_t at = 0;
  while ((at = xml.find(open, at)) != std::string_view::npos) {
    const std::size_t after = at + open.size();
    if (after >= xml.size() || !is_name_end(xml[after])) {
      at = after;  // <UploadIdMarker> is not <UploadId>
      continue;
    }
    const std::size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) {
      return std::nullopt;
    }
    if (xml[gt - 1] == '/') {
      return std::string();  // <Message/>
    }
    const std::string close = "</" + std::string(name) + ">";
    const std::size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) {
      return std::nullopt;
    }
    return decode(xml.substr(gt + 1, end - gt - 1));
  }
  return std::nullopt;
}

std::optional<ErrorBody> parse_error(std::string_view xml) {
  if (root_element(xml) != "Error") {
    return std::nullopt;
  }
  ErrorBody e;
  e.code = element_text(xml, "Code").value_or("");
  e.message = element_text(xml, "Message").value_or("");
  return e;
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Expected<std::string> complete_body(const std::vector<CompletedPart>& parts) {
  if (parts.empty()) {
    return Error{codes::kInvalidParameterValue, "CompleteMultipartUpload: no parts"};
  }
  std::string body = "<CompleteMultipartUpload>";
  int previous = 0;
  for (const auto& part : parts) {
    const std::string which = "part " + std::to_string(part.part_number);
    if (part.part_number < 1 || part.part_number > kMaxPartNumber) {
      return Error{codes::kInvalidParameterValue,
                   "CompleteMultipartUpload: " + which + " is not in 1..10000"};
    }
    if (part.part_number <= previous) {
      return Error{codes::kInvalidParameterValue, "CompleteMultipartUpload: " + which +
                                                      " follows part " + std::to_string(previous) +
                                                      " (parts must be ascending)"};
    }
    if (part.etag.empty()) {
      return Error{codes::kInvalidParameterValue,
                   "CompleteMultipartUpload: " + which + " has no ETag"};
    }
    for (char c : part.etag) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
        return Error{codes::kInvalidParameterValue,
                     "CompleteMultipartUpload: the ETag of " + which + " has a control character"};
      }
    }
    previous = part.part_number;
    body += "<Part><PartNumber>" + std::to_string(part.part_number) + "</PartNumber><ETag>" +
            escape(part.etag) + "</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  return body;
}

}  // namespace ferry::agent::upload::s3_xml

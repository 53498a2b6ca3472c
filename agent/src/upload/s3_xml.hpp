// The few XML documents of S3's multipart upload and error answers (COS and every S3-compatible
// store speak the same): reading <UploadId> and an <Error>'s <Code> and <Message>, and writing
// CompleteMultipartUpload's body. Not a general XML parser: the answers are small flat documents
// (capped at 64 KiB by the transfers) whose elements of interest carry text only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry::agent::upload {

// One uploaded part, as CompleteMultipartUpload lists it.
struct CompletedPart {
  int part_number = 0;  // 1..10000
  std::string etag;     // the part's ETag header, quotes kept as the store sent them
};

// The most parts of one multipart upload (S3 and COS).
inline constexpr int kMaxPartNumber = 10000;

namespace s3_xml {

// The name of the document's root element ("Error", "InitiateMultipartUploadResult"), after the
// XML declaration, comments and whitespace (S3 may send whitespace before the document while a
// CompleteMultipartUpload is under way); "" when there is none.
std::string root_element(std::string_view xml);

// The text of the first element `name` ("UploadId"), entities decoded (&quot; and the other four,
// &#34; and &#x22;); nullopt when there is no such element. <Name/> gives "".
std::optional<std::string> element_text(std::string_view xml, std::string_view name);

struct ErrorBody {
  std::string code;     // "AccessDenied", "NoSuchBucket", ...
  std::string message;  // as sent; the caller cuts it
};

// An <Error> document's Code and Message; nullopt when the root element is not Error.
std::optional<ErrorBody> parse_error(std::string_view xml);

// Text with & < > " ' escaped for an element's content.
std::string escape(std::string_view text);

// The body of CompleteMultipartUpload. Refuses (InvalidParameterValue) an empty list, a part
// number outside 1..10000 or not above the one before it (S3 wants them ascending), and an
// empty ETag or one with a control character.
Expected<std::string> complete_body(const std::vector<CompletedPart>& parts);

}  // namespace s3_xml
}  // namespace ferry::agent::upload

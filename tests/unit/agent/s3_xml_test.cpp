// The S3 wire bits of the agent's uploads without a network: the XML answers read, the Complete
// body written, how an outcome is classified and described, and a missing libcurl.
#include "upload/s3_xml.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "upload/curl_library.hpp"
#include "upload/object_transfer.hpp"

namespace upload = ferry::agent::upload;
namespace s3_xml = ferry::agent::upload::s3_xml;
using upload::CompletedPart;
using upload::TransferOutcome;

namespace {

TransferOutcome http_answer(long status, std::string code = "", std::string message = "") {
  TransferOutcome o;
  o.http_status = status;
  o.ok = status >= 200 && status < 300 && code.empty();
  o.error_code = std::move(code);
  o.error_message = std::move(message);
  return o;
}

TransferOutcome transport_failure(std::string why) {
  TransferOutcome o;
  o.transport_error = std::move(why);
  return o;
}

}  // namespace

TEST_CASE("s3_xml reads the UploadId of CreateMultipartUpload's answer") {
  const std::string answer =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Bucket>examplebucket</Bucket><Key>out/inv-1/invt-1.log</Key>"
      "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA&amp;x</UploadId>"
      "</InitiateMultipartUploadResult>";
  CHECK(s3_xml::root_element(answer) == "InitiateMultipartUploadResult");
  CHECK(s3_xml::element_text(answer, "UploadId") ==
        "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA&x");
  CHECK(s3_xml::element_text(answer, "Key") == "out/inv-1/invt-1.log");
  CHECK_FALSE(s3_xml::element_text(answer, "Upload").has_value());  // a prefix is not a name
  CHECK_FALSE(s3_xml::parse_error(answer).has_value());
  // An element whose name starts like the one asked for is passed over.
  CHECK(s3_xml::element_text("<R><UploadIdMarker>m</UploadIdMarker><UploadId>u</UploadId></R>",
                             "UploadId") == "u");
}

TEST_CASE("s3_xml reads an error's Code and Message, entities decoded") {
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- a comment -->\n"
      "<Error><Code>AccessDenied</Code><Message>Request has expired &amp; &lt;is&gt; "
      "&quot;old&quot; &#39;x&#x27; caf&#xE9;</Message>"
      "<RequestId>4442587FB7D0A2F9</RequestId></Error>";
  const auto error = s3_xml::parse_error(body);
  REQUIRE(error.has_value());
  CHECK(error->code == "AccessDenied");
  CHECK(error->message == "Request has expired & <is> \"old\" 'x' caf\xC3\xA9");

  const auto empty = s3_xml::parse_error("<Error><Code>NoSuchBucket</Code><Message/></Error>");
  REQUIRE(empty.has_value());
  CHECK(empty->code == "NoSuchBucket");
  CHECK(empty->message.empty());

  CHECK_FALSE(s3_xml::parse_error("").has_value());
  CHECK_FALSE(s3_xml::parse_error("<html><body>502 Bad Gateway</body></html>").has_value());
  CHECK_FALSE(s3_xml::parse_error("not xml at all").has_value());
  // A lone '&' and unknown entities stay as they are.
  CHECK(s3_xml::element_text("<M>a & b &nbsp; &#0; &#xZZ;</M>", "M") == "a & b &nbsp; &#0; &#xZZ;");
}

TEST_CASE("s3_xml finds the Error of a 200 CompleteMultipartUpload answer after whitespace") {
  // S3 answers 200 at once and keeps the connection alive with spaces; a failure comes last.
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n          \n          \n"
      "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try "
      "again.</Message></Error>";
  CHECK(s3_xml::root_element(body) == "Error");
  const auto error = s3_xml::parse_error(body);
  REQUIRE(error.has_value());
  CHECK(error->code == "InternalError");

  const std::string done =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n   <CompleteMultipartUploadResult>"
      "<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
      "<Code>not an error</Code></CompleteMultipartUploadResult>";
  CHECK_FALSE(s3_xml::parse_error(done).has_value());
  CHECK(s3_xml::element_text(done, "ETag") == "\"3858f62230ac3c915f300c664312c11f-9\"");
}

TEST_CASE("s3_xml writes CompleteMultipartUpload's body with the ETags escaped") {
  const auto body = s3_xml::complete_body({{1, "\"a54357aff0632cce46d942af68356b38\""},
                                           {2, "\"0c78aef83f66abc1fa1e8477f296d394\""},
                                           {3, "<odd>&'etag'"}});
  REQUIRE(body.has_value());
  CHECK(*body ==
        "<CompleteMultipartUpload>"
        "<Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;"
        "</ETag></Part>"
        "<Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;"
        "</ETag></Part>"
        "<Part><PartNumber>3</PartNumber><ETag>&lt;odd&gt;&amp;&apos;etag&apos;</ETag></Part>"
        "</CompleteMultipartUpload>");
  // What is written reads back the same.
  CHECK(s3_xml::element_text(*body, "ETag") == "\"a54357aff0632cce46d942af68356b38\"");

  SECTION("refused lists") {
    const std::vector<std::vector<CompletedPart>> refused = {
        {},
        {{0, "\"e\""}},
        {{10001, "\"e\""}},
        {{2, "\"e\""}, {1, "\"e\""}},
        {{1, "\"e\""}, {1, "\"e\""}},
        {{1, ""}},
        {{1, "\"e\r\nX-Injected: 1\""}},
    };
    for (const auto& parts : refused) {
      const auto r = s3_xml::complete_body(parts);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == "InvalidParameterValue");
      CHECK(r.error().message.starts_with("CompleteMultipartUpload: "));
    }
  }
}

TEST_CASE("TransferOutcome::retryable: transport errors, 5xx, 429, 408 and the transient codes") {
  CHECK(transport_failure("Couldn't connect to server").retryable());
  CHECK(http_answer(500).retryable());
  CHECK(http_answer(503, "SlowDown", "Please reduce your request rate.").retryable());
  CHECK(http_answer(429).retryable());
  CHECK(http_answer(408).retryable());
  CHECK(http_answer(400, "RequestTimeout", "Your socket connection ...").retryable());
  CHECK(http_answer(403, "RequestTimeTooSkewed").retryable());
  CHECK(http_answer(200, "InternalError", "late failure of Complete").retryable());

  CHECK_FALSE(http_answer(200).retryable());
  CHECK_FALSE(http_answer(403, "AccessDenied", "Access Denied").retryable());
  CHECK_FALSE(http_answer(403, "SignatureDoesNotMatch").retryable());
  CHECK_FALSE(http_answer(404, "NoSuchBucket").retryable());
  CHECK_FALSE(http_answer(404, "NoSuchUpload").retryable());
  CHECK_FALSE(http_answer(400, "InvalidPart").retryable());
  CHECK_FALSE(http_answer(400).retryable());

  TransferOutcome local;
  local.local_error = "the range 0+10 is past the end of /x (3 bytes)";
  CHECK_FALSE(local.retryable());
  TransferOutcome cancelled = transport_failure("the upload was cancelled");
  cancelled.cancelled = true;
  CHECK_FALSE(cancelled.retryable());

  CHECK(http_answer(403, "AccessDenied", "Request has expired").url_expired());
  CHECK(http_answer(400, "ExpiredToken", "The provided token has expired.").url_expired());
  CHECK_FALSE(http_answer(403, "AccessDenied", "Access Denied").url_expired());
}

TEST_CASE("TransferOutcome::describe is one line, and never a URL or a query") {
  CHECK(http_answer(200).describe() == "HTTP 200");
  CHECK(http_answer(403, "AccessDenied", "Access Denied").describe() ==
        "HTTP 403 AccessDenied: Access Denied");
  CHECK(http_answer(502).describe() == "HTTP 502");
  CHECK(transport_failure("Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect")
            .describe() ==
        "transport: Failed to connect to 127.0.0.1 port 9 after 0 ms: "
        "Couldn't connect");
  TransferOutcome local;
  local.local_error = "opening /var/lib/x.log: No such file or directory";
  CHECK(local.describe() == "local: opening /var/lib/x.log: No such file or directory");

  // Whatever libcurl or a store put in its text, a URL does not come out.
  const std::string url =
      "https://b-1250000000.cos.ap-beijing.myqcloud.com/o/inv-1/invt-1.log?X-Amz-Algorithm="
      "AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20250101%2Fap-beijing%2Fs3%2Faws4_request&"
      "X-Amz-Signature=0123456789abcdef";
  const std::vector<TransferOutcome> leaky = {
      transport_failure("Could not resolve " + url + " (host)"),
      http_answer(403, "AccessDenied", "denied for " + url),
      http_answer(400, "InvalidArgument", "bad query ?partNumber=1&uploadId=abc given"),
      http_answer(403, "SignatureDoesNotMatch", "X-Amz-Signature=abc does not match"),
  };
  for (const auto& o : leaky) {
    const std::string line = o.describe();
    INFO(line);
    CHECK(line.find("://") == std::string::npos);
    CHECK(line.find("X-Amz") == std::string::npos);
    CHECK(line.find("0123456789abcdef") == std::string::npos);
    CHECK(line.find("uploadId=") == std::string::npos);
    CHECK(line.find("<url>") != std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
  }
  CHECK(upload::blank_urls("is it? yes = no, see http://x") == "is it? yes = no, see <url>");
}

TEST_CASE("a missing libcurl is an error that says what to install") {
  const auto lib = upload::open_curl_library({"libcurl-ferry-missing.so.4"});
  REQUIRE_FALSE(lib.has_value());
  CHECK(lib.error().message.starts_with("libcurl is not installed: apt-get install libcurl4 ("));
  CHECK(lib.error().message.find("libcurl-ferry-missing.so.4") != std::string::npos);
  // A library that is not libcurl is no better.
  const auto libc = upload::open_curl_library({"libc.so.6"});
  REQUIRE_FALSE(libc.has_value());
  CHECK(libc.error().message.find("lacks curl_global_init") != std::string::npos);
  // This machine has one: it loads, once.
  const auto real = upload::curl_library();
  REQUIRE(real.has_value());
  CHECK_FALSE((*real)->version.empty());
  CHECK(upload::curl_library().value() == *real);
  CHECK(upload::load_curl().has_value());
}

#include "request_signature.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace clusteraccess::request_signature {

namespace {

constexpr std::string_view kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::size_t kAccessKeyLength = 20;
constexpr std::size_t kSignatureLength = 64;
constexpr std::size_t kDateLength = 16;  // YYYYMMDDTHHMMSSZ
static_assert(kStringToSignLength == kAlgorithm.size() + 2 + kDateLength + 64);

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_lower_hex(std::string_view text) noexcept {
  bool all = true;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    all &= static_cast<unsigned char>(byte - '0') < 10 || static_cast<unsigned char>(byte - 'a') < 6;
  }
  return all;
}

bool is_access_key(std::string_view text) noexcept {
  return text.size() == kAccessKeyLength && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         });
}

// RFC 9110 token characters, lower case only: the SDKs list signed headers
// lowercased.
bool is_header_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxHeaderNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Python's str.strip() on the ASCII whitespace it knows (\t\n\v\f\r, the
// separators \x1c-\x1f and space): the signer strips each value so. Values
// arrive as UTF-8 bytes; the SDK has stripped them before sending, so the
// non-ASCII whitespace Python also strips never reaches the ends here.
std::string_view trimmed(std::string_view value) noexcept {
  const auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f'); };
  while (!value.empty() && space(value.front())) value.remove_prefix(1);
  while (!value.empty() && space(value.back())) value.remove_suffix(1);
  return value;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's unquote_to_bytes: "%XX" (either case) is the byte; any other "%"
// stays as it is.
std::string percent_decoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// The bytes as Python's bytes.decode('utf-8', 'replace') and encode() would
// give them back: each maximal invalid subpart becomes U+FFFD (EF BF BD),
// the rule CPython's decoder follows (Unicode, "U+FFFD Substitution of
// Maximal Subparts").
std::string utf8_replaced(std::string_view bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(bytes.size());
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  std::size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    unsigned char second_low = 0x80;
    unsigned char second_high = 0xBF;
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_low = 0xA0;
      if (lead == 0xED) second_high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_low = 0x90;
      if (lead == 0xF4) second_high = 0x8F;
    }
    if (length == 0) {  // a continuation byte, C0, C1 or F5-FF
      out.append(kReplacement);
      ++i;
      continue;
    }
    std::size_t valid = 1;
    while (valid < length && i + valid < bytes.size()) {
      const unsigned char next = byte(i + valid);
      const unsigned char low = valid == 1 ? second_low : 0x80;
      const unsigned char high = valid == 1 ? second_high : 0xBF;
      if (next < low || next > high) break;
      ++valid;
    }
    if (valid == length) {
      out.append(bytes.substr(i, length));
    } else {
      out.append(kReplacement);
    }
    i += valid;
  }
  return out;
}

bool is_unreserved(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

// Python's quote(text, safe='~') of UTF-8 bytes; runs of unreserved bytes
// are appended whole.
void append_quoted(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::size_t run = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (is_unreserved(bytes[i])) continue;
    out.append(bytes.data() + run, i - run);
    const auto b = static_cast<unsigned char>(bytes[i]);
    const char escaped[] = {'%', kHex[b >> 4], kHex[b & 0xF]};
    out.append(escaped, sizeof escaped);
    run = i + 1;
  }
  out.append(bytes.data() + run, bytes.size() - run);
}

// Whether `text` is ASCII without a "%": then unquote leaves it as it is
// (the common case: ids, paths and parameters of the API), and the copies
// of decoding are skipped.
bool is_plain(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c != '%' && static_cast<unsigned char>(c) < 0x80; });
}

// Python's unquote(text): percent-decoded, then read as UTF-8 with
// replacement.
std::string unquoted(std::string_view text) {
  if (is_plain(text)) return std::string(text);
  return utf8_replaced(percent_decoded(text));
}

// SHA-256 and HMAC-SHA256, their implementations looked up once (OpenSSL 3
// looks them up again on every implicit use, which costs more than the
// hashing of a request).
const EVP_MD* sha256() noexcept {
  static EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched != nullptr ? fetched : EVP_sha256();
}

struct MdContextDeleter {
  void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};

// One SHA-256 context per thread, reused (EVP_Digest, or an HMAC context,
// makes and frees contexts on every call; re-initialising one with the same
// digest allocates nothing).
EVP_MD_CTX* sha256_context() noexcept {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdContextDeleter> context(EVP_MD_CTX_new());
  return context.get();
}

bool sha256_update(EVP_MD_CTX* context, const void* data, std::size_t size) noexcept {
  return EVP_DigestUpdate(context, data, size) == 1;
}

// The lowercase hex SHA-256 of data, written to out[0..64).
void write_sha256_hex(char* out, std::string_view data) {
  EVP_MD_CTX* const context = sha256_context();
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (context == nullptr || EVP_DigestInit_ex2(context, sha256(), nullptr) != 1 ||
      !sha256_update(context, data.data(), data.size()) ||
      EVP_DigestFinal_ex(context, digest.data(), &length) != 1 || length != 32) {
    std::abort();  // SHA-256 itself is broken: fail closed (as token.cpp)
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xF];
  }
}

constexpr std::size_t kSha256Size = 32;
constexpr std::size_t kSha256Block = 64;

// HMAC-SHA256 (RFC 2104: H((K ^ opad) || H((K ^ ipad) || message))) over the
// thread's SHA-256 context. EVP_MAC's HMAC re-keys three digest contexts and
// copies the key on every init, and a context keyed with an SK must not be
// kept between requests; this needs no allocation and leaves nothing of the
// key behind: the padded key is cleansed and the context reset. Checked
// against every published vector (tests/cpp/request_signature_test.cpp).
void hmac_sha256(std::string_view key, std::string_view message, std::array<unsigned char, kSha256Size>& mac) {
  EVP_MD_CTX* const context = sha256_context();
  std::array<unsigned char, kSha256Block> pad{};
  unsigned int length = 0;
  bool ok = context != nullptr;
  if (ok && key.size() > kSha256Block) {  // a long key is hashed first (never an SK of ours)
    ok = EVP_DigestInit_ex2(context, sha256(), nullptr) == 1 && sha256_update(context, key.data(), key.size()) &&
         EVP_DigestFinal_ex(context, pad.data(), &length) == 1;
  } else {
    std::copy(key.begin(), key.end(), pad.begin());
  }
  for (unsigned char& byte : pad) byte ^= 0x36;
  ok = ok && EVP_DigestInit_ex2(context, sha256(), nullptr) == 1 && sha256_update(context, pad.data(), pad.size()) &&
       sha256_update(context, message.data(), message.size()) && EVP_DigestFinal_ex(context, mac.data(), &length) == 1;
  for (unsigned char& byte : pad) byte ^= 0x36 ^ 0x5c;
  ok = ok && EVP_DigestInit_ex2(context, sha256(), nullptr) == 1 && sha256_update(context, pad.data(), pad.size()) &&
       sha256_update(context, mac.data(), kSha256Size) && EVP_DigestFinal_ex(context, mac.data(), &length) == 1;
  OPENSSL_cleanse(pad.data(), pad.size());
  ok = ok && EVP_DigestInit_ex2(context, sha256(), nullptr) == 1;
  // HMAC-SHA256 itself is broken: no signature can be judged; fail closed.
  if (!ok || length != kSha256Size) std::abort();
}

// X-Sdk-Date, YYYYMMDDTHHMMSSZ (UTC), as Unix seconds; nothing unless it is
// exactly that form and a real time. (Python's strptime would also take
// unpadded fields, but the signer then signs the re-formatted, padded date,
// which such a header does not equal.)
std::optional<std::int64_t> parse_date(std::string_view text) noexcept {
  if (text.size() != kDateLength || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  const auto number = [&](std::size_t from, std::size_t count) -> int {
    int value = 0;
    for (std::size_t i = from; i < from + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int year = number(0, 4), month = number(4, 2), day = number(6, 2);
  const int hour = number(9, 2), minute = number(11, 2), second = number(13, 2);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 59) {
    return std::nullopt;
  }
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return std::nullopt;
  // Days from the civil date (H. Hinnant's algorithm), then seconds.
  const int y = month <= 2 ? year - 1 : year;
  const int era = y / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

// The one value of header `name` (any case) among `headers`: nothing when it
// is absent; `repeated` set when it appears more than once.
std::optional<std::string_view> header_value(const SignedRequest& request, std::string_view name,
                                             bool& repeated) noexcept {
  std::optional<std::string_view> found;
  repeated = false;
  for (const auto& [key, value] : request.headers) {
    if (!equals_ignoring_case(key, name)) continue;
    if (found) repeated = true;
    found = value;
  }
  return found;
}

void append_upper(std::string& out, std::string_view text) {
  for (const char c : text) out.push_back((c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c);
}

// canonical_uri, appended to `out` (the canonical request is built in one
// buffer, without a string per part).
void append_canonical_uri(std::string& out, std::string_view raw_path) {
  std::string decoded;
  std::string_view path = raw_path;
  if (!is_plain(raw_path)) {
    decoded = unquoted(raw_path);
    path = decoded;
  }
  const std::size_t begin = out.size();
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    append_quoted(out, path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    start = slash + 1;
  }
  if (out.size() == begin || out.back() != '/') out.push_back('/');
}

}  // namespace

std::optional<Authorization> parse_authorization(std::string_view value) {
  if (value.size() > kMaxAuthorizationLength) return std::nullopt;
  if (value.substr(0, kAlgorithm.size()) != kAlgorithm || value.size() == kAlgorithm.size() ||
      value[kAlgorithm.size()] != ' ') {
    return std::nullopt;
  }
  value.remove_prefix(kAlgorithm.size() + 1);
  std::optional<std::string_view> access, signed_headers, signature;
  while (true) {
    const std::size_t end = value.find(", ");
    const std::string_view part = value.substr(0, end);
    const std::size_t equals = part.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string_view name = part.substr(0, equals);
    const std::string_view content = part.substr(equals + 1);
    std::optional<std::string_view>* slot = name == "Access"          ? &access
                                            : name == "SignedHeaders" ? &signed_headers
                                            : name == "Signature"     ? &signature
                                                                      : nullptr;
    if (slot == nullptr || slot->has_value()) return std::nullopt;
    *slot = content;
    if (end == std::string_view::npos) break;
    value.remove_prefix(end + 2);
  }
  if (!access || !signed_headers || !signature) return std::nullopt;
  if (!is_access_key(*access)) return std::nullopt;
  if (signature->size() != kSignatureLength || !is_lower_hex(*signature)) return std::nullopt;

  Authorization parsed{*access, {}, *signature};
  parsed.signed_headers.reserve(8);  // the SDKs sign 4 to 6: one allocation, not one per doubling
  std::string_view names = *signed_headers;
  while (true) {
    const std::size_t end = names.find(';');
    const std::string_view name = names.substr(0, end);
    if (!is_header_name(name) || parsed.signed_headers.size() == kMaxSignedHeaders) return std::nullopt;
    parsed.signed_headers.emplace_back(name);
    if (end == std::string_view::npos) break;
    names.remove_prefix(end + 1);
  }
  return parsed;
}

std::string canonical_uri(std::string_view raw_path) {
  std::string out;
  out.reserve(raw_path.size() + 16);
  append_canonical_uri(out, raw_path);
  return out;
}

std::string canonical_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!raw_query.empty()) {
    const std::size_t end = raw_query.find('&');
    const std::string_view part = raw_query.substr(0, end);
    if (!part.empty()) {
      const std::size_t equals = part.find('=');
      pairs.emplace_back(unquoted(part.substr(0, equals)),
                         equals == std::string_view::npos ? std::string() : unquoted(part.substr(equals + 1)));
    }
    if (end == std::string_view::npos) break;
    raw_query.remove_prefix(end + 1);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    append_quoted(out, key);
    out.push_back('=');
    append_quoted(out, value);
  }
  return out;
}

namespace {

// The canonical request, appended to `out`; false when a signed header is
// missing or repeated.
bool append_canonical_request(std::string& out, const SignedRequest& request, const Authorization& authorization,
                              std::string_view payload_hash) {
  append_upper(out, request.method);
  out.push_back('\n');
  append_canonical_uri(out, request.raw_path);
  out.push_back('\n');
  if (!request.raw_query.empty()) out.append(canonical_query(request.raw_query));
  out.push_back('\n');
  for (const std::string_view name : authorization.signed_headers) {
    bool repeated = false;
    const auto value = header_value(request, name, repeated);
    if (!value || repeated) return false;
    out.append(name).append(":").append(trimmed(*value)).push_back('\n');
  }
  out.push_back('\n');
  for (std::size_t i = 0; i < authorization.signed_headers.size(); ++i) {
    if (i != 0) out.push_back(';');
    out.append(authorization.signed_headers[i]);
  }
  out.push_back('\n');
  out.append(payload_hash);
  return true;
}

}  // namespace

std::optional<std::string> canonical_request(const SignedRequest& request, const Authorization& authorization,
                                             std::string_view payload_hash) {
  std::string out;
  if (!append_canonical_request(out, request, authorization, payload_hash)) return std::nullopt;
  return out;
}

std::variant<PendingSignature, SignatureRefusal> prepare(const SignedRequest& request, std::int64_t now) {
  if (request.headers.size() > kMaxHeaders) return SignatureRefusal::kMalformedRequest;
  for (const auto& header : request.headers) {
    if (header.first.size() > kMaxHeaderValueLength || header.second.size() > kMaxHeaderValueLength) {
      return SignatureRefusal::kMalformedRequest;
    }
  }
  bool repeated = false;
  const auto authorization_value = header_value(request, "authorization", repeated);
  if (!authorization_value || repeated) return SignatureRefusal::kMalformedAuthorization;
  auto authorization = parse_authorization(*authorization_value);
  if (!authorization) return SignatureRefusal::kMalformedAuthorization;

  const auto& names = authorization->signed_headers;
  if (std::find(names.begin(), names.end(), "x-sdk-date") == names.end()) {
    return SignatureRefusal::kDateNotSigned;
  }
  const auto date_value = header_value(request, "x-sdk-date", repeated);
  if (!date_value || repeated) return SignatureRefusal::kMalformedDate;
  const std::string_view date = trimmed(*date_value);
  const auto signed_at = parse_date(date);
  if (!signed_at) return SignatureRefusal::kMalformedDate;
  const std::int64_t skew = *signed_at - now;
  if (skew > kMaxClockSkewSeconds || skew < -kMaxClockSkewSeconds) return SignatureRefusal::kStaleDate;

  if (request.raw_path.empty() || request.raw_path.size() > kMaxPathLength ||
      request.raw_query.size() > kMaxQueryLength || request.method.empty() || request.method.size() > 32) {
    return SignatureRefusal::kMalformedRequest;
  }
  const bool has_body = request.body_sha256 && *request.body_sha256 != kEmptyHash;
  if (request.body_sha256 &&
      (request.body_sha256->size() != kSignatureLength || !is_lower_hex(*request.body_sha256))) {
    return SignatureRefusal::kMalformedRequest;
  }
  const auto content_value = header_value(request, "x-sdk-content-sha256", repeated);
  if (repeated) return SignatureRefusal::kMalformedRequest;
  const std::string_view content_hash = content_value ? trimmed(*content_value) : std::string_view();

  // The Python signer: no body, the empty hash; else the header's value when
  // given (UNSIGNED-PAYLOAD), else the body's hash.
  std::array<std::string_view, 2> payload_hashes{};
  std::size_t hash_count = 0;
  if (!has_body) {
    payload_hashes[hash_count++] = kEmptyHash;
    // The Go signer reads the header first, even with no body.
    if (!content_hash.empty() && content_hash != kEmptyHash) payload_hashes[hash_count++] = content_hash;
  } else {
    payload_hashes[hash_count++] = content_hash.empty() ? std::string_view(*request.body_sha256) : content_hash;
  }

  PendingSignature pending{authorization->access_key, authorization->signature, {}, 0};
  // One buffer per thread for the canonical request (it holds nothing
  // secret: the request as received), so that a check allocates nothing.
  thread_local std::string canonical;
  for (std::size_t i = 0; i < hash_count; ++i) {
    canonical.clear();
    if (!append_canonical_request(canonical, request, *authorization, payload_hashes[i])) {
      return SignatureRefusal::kMalformedRequest;
    }
    // The algorithm, the date (kDateLength: parse_date took nothing else)
    // and the canonical request's hash, each line in place.
    char* const to_sign = pending.strings_to_sign[i].data();
    std::copy(kAlgorithm.begin(), kAlgorithm.end(), to_sign);
    to_sign[kAlgorithm.size()] = '\n';
    std::copy(date.begin(), date.end(), to_sign + kAlgorithm.size() + 1);
    to_sign[kAlgorithm.size() + 1 + kDateLength] = '\n';
    write_sha256_hex(to_sign + kAlgorithm.size() + 2 + kDateLength, canonical);
    ++pending.string_count;
  }
  return pending;
}

namespace {

// HMAC-SHA256(secret_key, string_to_sign) as lowercase hex, into `out`.
void hmac_hex(std::string_view secret_key, std::string_view string_to_sign, std::array<char, 64>& out) {
  std::array<unsigned char, kSha256Size> mac{};
  hmac_sha256(secret_key, string_to_sign, mac);
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < mac.size(); ++i) {
    out[2 * i] = kHex[mac[i] >> 4];
    out[2 * i + 1] = kHex[mac[i] & 0xF];
  }
  OPENSSL_cleanse(mac.data(), mac.size());
}

}  // namespace

std::string signature_hex(std::string_view secret_key, std::string_view string_to_sign) {
  std::array<char, 64> computed{};
  hmac_hex(secret_key, string_to_sign, computed);
  return std::string(computed.data(), computed.size());
}

bool signature_matches(const PendingSignature& pending, std::string_view secret_key) {
  bool matched = false;
  std::array<char, 64> computed{};
  for (std::size_t i = 0; i < pending.string_count; ++i) {
    hmac_hex(secret_key, pending.string_to_sign(i), computed);
    // Lengths are both 64 (the claimed one was checked when parsed).
    matched |= computed.size() == pending.claimed_signature.size() &&
               CRYPTO_memcmp(computed.data(), pending.claimed_signature.data(), computed.size()) == 0;
  }
  OPENSSL_cleanse(computed.data(), computed.size());
  return matched;
}

const char* describe(SignatureRefusal refusal) noexcept {
  switch (refusal) {
    case SignatureRefusal::kMalformedAuthorization: return "signature: malformed Authorization header";
    case SignatureRefusal::kUnknownAccessKey: return "signature: unknown access key";
    case SignatureRefusal::kRevokedAccessKey: return "signature: revoked access key";
    case SignatureRefusal::kExpiredAccessKey: return "signature: expired access key";
    case SignatureRefusal::kDateNotSigned: return "signature: x-sdk-date is not a signed header";
    case SignatureRefusal::kMalformedDate: return "signature: X-Sdk-Date missing, repeated or malformed";
    case SignatureRefusal::kStaleDate: return "signature: X-Sdk-Date more than 15 minutes from the clock";
    case SignatureRefusal::kMalformedRequest: return "signature: a signed header missing or repeated, or the request over bounds";
    case SignatureRefusal::kSignatureMismatch: return "signature: does not match";
  }
  return "signature: refused";
}

}  // namespace clusteraccess::request_signature

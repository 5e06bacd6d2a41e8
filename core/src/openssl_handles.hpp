// RAII owners of OpenSSL objects.
#pragma once

#include <memory>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace clusteraccess::openssl {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { Free(p); }
};

// OPENSSL_free is a macro, so it cannot be a template argument.
struct StringDeleter {
  void operator()(char* p) const noexcept { OPENSSL_free(p); }
};

// OPENSSL_free again, for bytes OpenSSL allocated (PEM_read_bio's DER, ...).
struct BytesDeleter {
  void operator()(unsigned char* p) const noexcept { OPENSSL_free(p); }
};

using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BigNum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyContext = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using X509Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using Asn1Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using Asn1Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using X509Crl = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
/// One entry of a CRL; X509_CRL_add0_revoked takes it over on success.
using X509Revoked = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED, X509_REVOKED_free>>;
/// A string OpenSSL allocated (BN_bn2hex, X509_NAME_oneline, ...).
using String = std::unique_ptr<char, StringDeleter>;
/// Bytes OpenSSL allocated.
using Bytes = std::unique_ptr<unsigned char, BytesDeleter>;

}  // namespace clusteraccess::openssl

// CaMaterial: the installation's certificate authority as it is kept.
#pragma once

#include <string>

#include "secret_string.hpp"

namespace clusteraccess {

/// A CA certificate and its private key, both PEM text: what the store keeps
/// and what `CertificateAuthority` loads. Plain text, so that a storage
/// backend needs no notion of keys or certificates to keep it.
struct CaMaterial {
  std::string certificate_pem;
  SecretString private_key_pem;  ///< PKCS#8 PEM, unencrypted; wiped on destruction
};

}  // namespace clusteraccess

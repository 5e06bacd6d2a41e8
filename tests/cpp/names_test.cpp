#include "names.hpp"

#include <gtest/gtest.h>

#include <string>

namespace clusteraccess {
namespace {

using namespace std::string_literals;

TEST(ClusterName, AcceptsConsoleStyleNames) {
  EXPECT_TRUE(is_valid_cluster_name("prod"));
  EXPECT_TRUE(is_valid_cluster_name("my-cluster-01"));
  EXPECT_TRUE(is_valid_cluster_name("a" + std::string(127, 'b')));
}

TEST(ClusterName, RejectsWrongLength) {
  EXPECT_FALSE(is_valid_cluster_name(""));
  EXPECT_FALSE(is_valid_cluster_name("abc"));
  EXPECT_FALSE(is_valid_cluster_name("a" + std::string(128, 'b')));
}

TEST(ClusterName, RejectsBadFirstOrLastCharacter) {
  EXPECT_FALSE(is_valid_cluster_name("1abc"));
  EXPECT_FALSE(is_valid_cluster_name("-abc"));
  EXPECT_FALSE(is_valid_cluster_name("abcd-"));
}

TEST(ClusterName, RejectsCharactersOutsideTheAlphabet) {
  EXPECT_FALSE(is_valid_cluster_name("Prod"));
  EXPECT_FALSE(is_valid_cluster_name("my_cluster"));
  EXPECT_FALSE(is_valid_cluster_name("my.cluster"));
  EXPECT_FALSE(is_valid_cluster_name("my cluster"));
  EXPECT_FALSE(is_valid_cluster_name("prod\n"));
  EXPECT_FALSE(is_valid_cluster_name("pr\0od"s));
  EXPECT_FALSE(is_valid_cluster_name("pr\xc3\xa9od"));
}

TEST(PrincipalName, AcceptsUserAndServiceNames) {
  EXPECT_TRUE(is_valid_principal_name("a"));
  EXPECT_TRUE(is_valid_principal_name("Alice"));
  EXPECT_TRUE(is_valid_principal_name("alice@example.com"));
  EXPECT_TRUE(is_valid_principal_name("svc_deploy-01.ci"));
  EXPECT_TRUE(is_valid_principal_name("7up"));
  EXPECT_TRUE(is_valid_principal_name(std::string(64, 'x')));
}

TEST(PrincipalName, RejectsBadNames) {
  EXPECT_FALSE(is_valid_principal_name(""));
  EXPECT_FALSE(is_valid_principal_name(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_principal_name(".alice"));
  EXPECT_FALSE(is_valid_principal_name("@alice"));
  EXPECT_FALSE(is_valid_principal_name("-alice"));
  EXPECT_FALSE(is_valid_principal_name("al ice"));
  EXPECT_FALSE(is_valid_principal_name("alice\n"));
  EXPECT_FALSE(is_valid_principal_name("al\0ice"s));
  EXPECT_FALSE(is_valid_principal_name("alice'--"));
  EXPECT_FALSE(is_valid_principal_name("al/ice"));
}

TEST(RegionName, AcceptsCloudRegionNames) {
  EXPECT_TRUE(is_valid_region_name("eu-de"));
  EXPECT_TRUE(is_valid_region_name("cn-north-4"));
  EXPECT_TRUE(is_valid_region_name("x"));
  EXPECT_TRUE(is_valid_region_name("4"));
  EXPECT_TRUE(is_valid_region_name(std::string(63, 'a')));
}

TEST(RegionName, RejectsBadNames) {
  EXPECT_FALSE(is_valid_region_name(""));
  EXPECT_FALSE(is_valid_region_name(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_region_name("-eu"));
  EXPECT_FALSE(is_valid_region_name("eu-"));
  EXPECT_FALSE(is_valid_region_name("eu--de"));
  EXPECT_FALSE(is_valid_region_name("EU-DE"));
  EXPECT_FALSE(is_valid_region_name("eu_de"));
  EXPECT_FALSE(is_valid_region_name("eu.de"));
}

TEST(RegionName, RejectsYamlInjection) {
  EXPECT_FALSE(is_valid_region_name("eu\nkind: x"));
  EXPECT_FALSE(is_valid_region_name("eu-de\n"));
  EXPECT_FALSE(is_valid_region_name("eu: de"));
  EXPECT_FALSE(is_valid_region_name("\"eu\""));
  EXPECT_FALSE(is_valid_region_name("eu\0de"s));
}

TEST(HostName, AcceptsDnsNames) {
  EXPECT_TRUE(is_valid_host_name("proxy"));
  EXPECT_TRUE(is_valid_host_name("proxy.example.com"));
  EXPECT_TRUE(is_valid_host_name("Proxy.Example.COM"));
  EXPECT_TRUE(is_valid_host_name("a-b.c-d.example"));
  EXPECT_TRUE(is_valid_host_name("1proxy.example.com"));
  EXPECT_TRUE(is_valid_host_name(std::string(63, 'a') + ".com"));
}

TEST(HostName, AcceptsIpLiterals) {
  EXPECT_TRUE(is_valid_host_name("10.0.0.1"));
  EXPECT_TRUE(is_valid_host_name("127.0.0.1"));
  EXPECT_TRUE(is_valid_host_name("2001:db8::1"));
  EXPECT_TRUE(is_valid_host_name("::1"));
}

TEST(HostName, RejectsBadLabels) {
  EXPECT_FALSE(is_valid_host_name(""));
  EXPECT_FALSE(is_valid_host_name("."));
  EXPECT_FALSE(is_valid_host_name("proxy.example.com."));
  EXPECT_FALSE(is_valid_host_name(".example.com"));
  EXPECT_FALSE(is_valid_host_name("proxy..example.com"));
  EXPECT_FALSE(is_valid_host_name("-proxy.example.com"));
  EXPECT_FALSE(is_valid_host_name("proxy-.example.com"));
  EXPECT_FALSE(is_valid_host_name(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(is_valid_host_name("proxy_1.example.com"));
}

TEST(HostName, RejectsNamesLongerThan253Characters) {
  std::string name;
  while (name.size() < 250) name += std::string(9, 'a') + ".";
  name += "com";  // 253
  ASSERT_EQ(name.size(), 253u);
  EXPECT_TRUE(is_valid_host_name(name));
  EXPECT_FALSE(is_valid_host_name("a" + name));
}

TEST(HostName, RejectsNumericTopLevelLabelThatIsNoAddress) {
  EXPECT_FALSE(is_valid_host_name("1.2.3"));
  EXPECT_FALSE(is_valid_host_name("01.2.3.4"));
  EXPECT_FALSE(is_valid_host_name("1.2.3.4.5"));
  EXPECT_FALSE(is_valid_host_name("proxy.123"));
}

TEST(HostName, RejectsInjectionAndAddressDecorations) {
  EXPECT_FALSE(is_valid_host_name("proxy.example.com\n"));
  EXPECT_FALSE(is_valid_host_name("proxy.example.com\nkind: x"));
  EXPECT_FALSE(is_valid_host_name("proxy example"));
  EXPECT_FALSE(is_valid_host_name("proxy\0.example.com"s));
  EXPECT_FALSE(is_valid_host_name("proxy.example.com:443"));
  EXPECT_FALSE(is_valid_host_name("[2001:db8::1]"));
  EXPECT_FALSE(is_valid_host_name("fe80::1%eth0"));
  EXPECT_FALSE(is_valid_host_name("10.0.0.0/8"));
  EXPECT_FALSE(is_valid_host_name("\"proxy\""));
}

TEST(ImageReference, AcceptsTagsAndDigests) {
  EXPECT_TRUE(is_valid_image_reference("proxy-agent:v1.2.3"));
  EXPECT_TRUE(is_valid_image_reference("registry.example.com/proxy-agent:v1"));
  EXPECT_TRUE(is_valid_image_reference("registry.example.com:5000/team/proxy_agent:1.0"));
  EXPECT_TRUE(is_valid_image_reference(
      "registry.example.com/proxy-agent@sha256:"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_TRUE(is_valid_image_reference("library/busybox"));
}

TEST(ImageReference, RejectsBadShapes) {
  EXPECT_FALSE(is_valid_image_reference(""));
  EXPECT_FALSE(is_valid_image_reference("busybox"));
  EXPECT_FALSE(is_valid_image_reference("-x/y"));
  EXPECT_FALSE(is_valid_image_reference(".x/y"));
  EXPECT_FALSE(is_valid_image_reference("/x/y"));
  EXPECT_FALSE(is_valid_image_reference(":x"));
  EXPECT_FALSE(is_valid_image_reference("x/"));
  EXPECT_FALSE(is_valid_image_reference("x:"));
  EXPECT_FALSE(is_valid_image_reference("x/y@"));
  EXPECT_FALSE(is_valid_image_reference("x/../y"));
  EXPECT_FALSE(is_valid_image_reference("x//y"));
  EXPECT_FALSE(is_valid_image_reference("Registry/Proxy:v1"));
  EXPECT_FALSE(is_valid_image_reference("x/" + std::string(254, 'a')));
}

TEST(ImageReference, RejectsYamlInjection) {
  EXPECT_FALSE(is_valid_image_reference("x/y:v1\nkind: x"));
  EXPECT_FALSE(is_valid_image_reference("x/y:v1 "));
  EXPECT_FALSE(is_valid_image_reference("x/y\":v1"));
  EXPECT_FALSE(is_valid_image_reference("x/y#:v1"));
  EXPECT_FALSE(is_valid_image_reference("x/y:v1\0"s));
}

TEST(Port, AcceptsOneTo65535) {
  EXPECT_TRUE(is_valid_port(1));
  EXPECT_TRUE(is_valid_port(443));
  EXPECT_TRUE(is_valid_port(65535));
}

TEST(Port, RejectsOutOfRange) {
  EXPECT_FALSE(is_valid_port(0));
  EXPECT_FALSE(is_valid_port(-1));
  EXPECT_FALSE(is_valid_port(65536));
}

}  // namespace
}  // namespace clusteraccess

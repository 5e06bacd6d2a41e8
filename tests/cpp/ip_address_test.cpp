#include "ip_address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace clusteraccess {
namespace {

using namespace std::string_literals;

std::string canonical(std::string_view text) { return canonical_unicast_ip(text).value_or("<rejected>"); }

TEST(IpAddress, AcceptsUnicastIpv4) {
  EXPECT_EQ(canonical("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(canonical("192.168.1.254"), "192.168.1.254");
  EXPECT_EQ(canonical("1.0.0.0"), "1.0.0.0");
  EXPECT_EQ(canonical("223.255.255.255"), "223.255.255.255");
  EXPECT_EQ(canonical("169.253.0.1"), "169.253.0.1");
}

TEST(IpAddress, RejectsLeadingZeroOctets) {
  EXPECT_FALSE(canonical_unicast_ip("010.0.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.01"));
  EXPECT_FALSE(canonical_unicast_ip("10.00.0.1"));
}

TEST(IpAddress, RejectsNonDottedQuadIpv4Forms) {
  EXPECT_FALSE(canonical_unicast_ip("10.1"));
  EXPECT_FALSE(canonical_unicast_ip("10.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("167772161"));
  EXPECT_FALSE(canonical_unicast_ip("0x0a.0.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.1.5"));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.256"));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0."));
}

TEST(IpAddress, RejectsEmptyAndNames) {
  EXPECT_FALSE(canonical_unicast_ip(""));
  EXPECT_FALSE(canonical_unicast_ip("localhost"));
  EXPECT_FALSE(canonical_unicast_ip("vpcep.example.com"));
}

TEST(IpAddress, RejectsCidr) {
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.1/32"));
  EXPECT_FALSE(canonical_unicast_ip("2001:db8::1/128"));
}

TEST(IpAddress, RejectsZoneBracketsAndPort) {
  EXPECT_FALSE(canonical_unicast_ip("2001:db8::1%eth0"));
  EXPECT_FALSE(canonical_unicast_ip("[2001:db8::1]"));
  EXPECT_FALSE(canonical_unicast_ip("[2001:db8::1]:443"));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.1:443"));
}

TEST(IpAddress, RejectsWhitespaceAndNul) {
  EXPECT_FALSE(canonical_unicast_ip(" 10.0.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.1 "));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.1\n"));
  EXPECT_FALSE(canonical_unicast_ip("1.2.3.4\nkind: x"));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.1\t"));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.1\0"s));
  EXPECT_FALSE(canonical_unicast_ip("10.0.0.1\0.5"s));
  EXPECT_FALSE(canonical_unicast_ip("2001:db8::1\0"s));
}

TEST(IpAddress, RejectsTooLongText) {
  EXPECT_EQ(canonical("0000:0000:0000:0000:0000:ffff:192.168.100.200"), "::ffff:192.168.100.200");
  EXPECT_FALSE(canonical_unicast_ip("00000:0000:0000:0000:0000:ffff:192.168.100.200"));
  EXPECT_FALSE(canonical_unicast_ip(std::string(1000, '1')));
}

TEST(IpAddress, RejectsSpecialIpv4Ranges) {
  EXPECT_FALSE(canonical_unicast_ip("0.0.0.0"));
  EXPECT_FALSE(canonical_unicast_ip("0.1.2.3"));
  EXPECT_FALSE(canonical_unicast_ip("127.0.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("127.255.255.254"));
  EXPECT_FALSE(canonical_unicast_ip("169.254.169.254"));
  EXPECT_FALSE(canonical_unicast_ip("224.0.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("239.255.255.255"));
  EXPECT_FALSE(canonical_unicast_ip("240.0.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("255.255.255.255"));
}

TEST(IpAddress, CanonicalizesIpv6PerRfc5952) {
  EXPECT_EQ(canonical("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  EXPECT_EQ(canonical("2001:0db8::0001"), "2001:db8::1");
  EXPECT_EQ(canonical("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
  EXPECT_EQ(canonical("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
  EXPECT_EQ(canonical("fd00:0:0:0:0:0:0:a"), "fd00::a");
}

TEST(IpAddress, RejectsMalformedIpv6) {
  EXPECT_FALSE(canonical_unicast_ip("2001:db8:::1"));
  EXPECT_FALSE(canonical_unicast_ip("2001:db8::1::2"));
  EXPECT_FALSE(canonical_unicast_ip("2001:db8:1:2:3:4:5:6:7"));
  EXPECT_FALSE(canonical_unicast_ip("2001:db8::g"));
  EXPECT_FALSE(canonical_unicast_ip("12345::1"));
  EXPECT_FALSE(canonical_unicast_ip(":"));
}

TEST(IpAddress, RejectsSpecialIpv6Ranges) {
  EXPECT_FALSE(canonical_unicast_ip("::"));
  EXPECT_FALSE(canonical_unicast_ip("::1"));
  EXPECT_FALSE(canonical_unicast_ip("0:0:0:0:0:0:0:1"));
  EXPECT_FALSE(canonical_unicast_ip("::10.0.0.1"));  // deprecated IPv4-compatible
  EXPECT_FALSE(canonical_unicast_ip("ff02::1"));
  EXPECT_FALSE(canonical_unicast_ip("ff00::"));
  EXPECT_FALSE(canonical_unicast_ip("fe80::1"));
  EXPECT_FALSE(canonical_unicast_ip("febf:ffff::1"));
}

TEST(IpAddress, AcceptsIpv6NextToTheRejectedRanges) {
  EXPECT_EQ(canonical("fec0::1"), "fec0::1");
  EXPECT_EQ(canonical("fe7f::1"), "fe7f::1");
  EXPECT_EQ(canonical("::1:0:0:0:1"), "::1:0:0:0:1");
}

TEST(IpAddress, JudgesIpv4MappedByIpv4Rules) {
  EXPECT_EQ(canonical("::ffff:10.0.0.1"), "::ffff:10.0.0.1");
  EXPECT_EQ(canonical("::FFFF:a00:1"), "::ffff:10.0.0.1");
  EXPECT_FALSE(canonical_unicast_ip("::ffff:127.0.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("::ffff:0.0.0.0"));
  EXPECT_FALSE(canonical_unicast_ip("::ffff:169.254.1.1"));
  EXPECT_FALSE(canonical_unicast_ip("::ffff:224.0.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("::ffff:255.255.255.255"));
  EXPECT_FALSE(canonical_unicast_ip("::ffff:010.0.0.1"));
}

TEST(IpAddress, Nat64AddressesAreJudgedByTheIpv4AddressTheyCarry) {
  EXPECT_FALSE(canonical_unicast_ip("64:ff9b::7f00:1"));        // 127.0.0.1
  EXPECT_FALSE(canonical_unicast_ip("64:ff9b::127.0.0.1"));
  EXPECT_FALSE(canonical_unicast_ip("64:ff9b::a9fe:101"));      // 169.254.1.1
  EXPECT_FALSE(canonical_unicast_ip("64:ff9b::e000:1"));        // 224.0.0.1
  EXPECT_FALSE(canonical_unicast_ip("64:ff9b::ffff:ffff"));     // 255.255.255.255
  EXPECT_FALSE(canonical_unicast_ip("64:ff9b::"));              // 0.0.0.0
  EXPECT_EQ(canonical("64:ff9b::a00:1"), "64:ff9b::a00:1");    // 10.0.0.1
  EXPECT_EQ(canonical("64:FF9B::10.0.0.1"), "64:ff9b::a00:1");
  // Only the well-known /96 carries an IPv4 address; its neighbours are plain IPv6.
  EXPECT_EQ(canonical("64:ff9b:1::7f00:1"), "64:ff9b:1::7f00:1");
}

TEST(IpLiteral, AcceptsAnyRangeButSameSyntax) {
  EXPECT_TRUE(is_ip_literal("127.0.0.1"));
  EXPECT_TRUE(is_ip_literal("0.0.0.0"));
  EXPECT_TRUE(is_ip_literal("::1"));
  EXPECT_TRUE(is_ip_literal("ff02::1"));
  EXPECT_FALSE(is_ip_literal("010.0.0.1"));
  EXPECT_FALSE(is_ip_literal("[::1]"));
  EXPECT_FALSE(is_ip_literal("10.0.0.1 "));
  EXPECT_FALSE(is_ip_literal("proxy.example.com"));
}

}  // namespace
}  // namespace clusteraccess

#include "clusteraccess/migration.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "clusteraccess/error.hpp"
#include "postgres.hpp"
#include "postgres_store.hpp"
#include "sqlite.hpp"
#include "sqlite_store.hpp"

namespace clusteraccess {

namespace {

// The kind of a column, for copying and for the canonical form: the same
// value must give the same text on both sides.
enum class Kind { kInteger, kText, kBytes, kBoolean };

struct Column {
  const char* name;
  Kind kind;
};

struct Table {
  const char* name;
  std::vector<Column> columns;
};

// Every table of schema version 4, parents before children (foreign keys).
// Both backends name tables and columns alike (postgres_schema.cpp).
const std::vector<Table>& tables() {
  constexpr Kind I = Kind::kInteger;
  constexpr Kind T = Kind::kText;
  constexpr Kind B = Kind::kBytes;
  constexpr Kind K = Kind::kBoolean;
  static const std::vector<Table> all{
      {"settings", {{"key", T}, {"value", T}}},
      {"certificate_authority",
       {{"id", I}, {"certificate_pem", T}, {"private_key", B}, {"created_at", I}, {"key_sealed", K}}},
      {"regions", {{"name", T}, {"proxy_host", T}, {"proxy_port", I}}},
      {"clusters",
       {{"id", B}, {"name", T}, {"category", T}, {"provider", T}, {"network", T}, {"created_at", I},
        {"downloaded_at", I}, {"certificate_serial", T}, {"type", T}, {"updated_at", I}, {"generation", I},
        {"connected_at", I}, {"country", T}, {"city", T}, {"manage_type", T}, {"cluster_group_id", T}}},
      {"cluster_metadata", {{"cluster_id", B}, {"kind", T}, {"key", T}, {"value", T}}},
      {"principals", {{"name", T}, {"created_at", I}}},
      {"tokens", {{"hash", B}, {"principal", T}, {"created_at", I}, {"expires_at", I}, {"revoked_at", I}}},
      // The SK sealed, copied as it is: it opens with the same master key.
      {"access_keys",
       {{"access_key", T}, {"principal", T}, {"sealed_secret", B}, {"created_at", I}, {"expires_at", I},
        {"revoked_at", I}}},
      {"grants", {{"principal", T}, {"cluster_id", B}}},
      {"deleted_clusters", {{"id", B}, {"deleted_at", I}}},
      {"revocations", {{"certificate_serial", T}, {"cluster_id", B}, {"revoked_at", I}, {"reason", T}}},
      {"events",
       {{"id", I}, {"kind", T}, {"cluster_id", B}, {"generation", I}, {"at", I}, {"principal", T},
        {"certificate_serial", T}}},
      {"downloads",
       {{"id", I}, {"cluster_id", B}, {"generation", I}, {"principal", T}, {"downloaded_at", I},
        {"certificate_serial", T}, {"network", T}, {"region", T}, {"vpcendpoint", T}}},
  };
  return all;
}

std::string column_list(const Table& table) {
  std::string out;
  for (const auto& column : table.columns) out += std::string(out.empty() ? "" : ", ") + column.name;
  return out;
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// One value in the canonical form: its kind's tag, then the value; NULL is
// "N". Lengths prefix text so that no two rows share a form.
std::string canonical(Kind kind, const std::optional<std::string>& value) {
  if (!value) return "N;";
  switch (kind) {
    case Kind::kInteger:
      return "i" + *value + ";";
    case Kind::kBoolean:
      return std::string("k") + (*value == "1" || *value == "t" ? "1" : "0") + ";";
    case Kind::kBytes:
      return "b" + hex(*value) + ";";
    case Kind::kText:
      break;
  }
  return "t" + std::to_string(value->size()) + ":" + *value + ";";
}

// The digest of a table's rows (canonical forms, sorted: the order of
// reading does not matter).
std::string digest(std::vector<std::string> rows) {
  std::sort(rows.begin(), rows.end());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    throw Error::internal("cannot compute a digest");
  }
  for (const auto& row : rows) {
    const std::string line = row + "\n";
    if (EVP_DigestUpdate(context.get(), line.data(), line.size()) != 1) throw Error::internal("cannot compute a digest");
  }
  if (EVP_DigestFinal_ex(context.get(), out, &size) != 1) throw Error::internal("cannot compute a digest");
  return hex(std::string_view(reinterpret_cast<const char*>(out), size));
}

struct SourceTable {
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::vector<std::string> canonical_rows;
};

SourceTable read_source(sqlite::Connection& source, const Table& table) {
  sqlite::Statement select(source, "SELECT " + column_list(table) + " FROM " + table.name);
  SourceTable out;
  while (select.step()) {
    std::vector<std::optional<std::string>> row;
    std::string form;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      const int column = static_cast<int>(i);
      std::optional<std::string> value;
      if (!select.is_null(column)) {
        value = table.columns[i].kind == Kind::kInteger || table.columns[i].kind == Kind::kBoolean
                    ? std::to_string(select.column_int(column))
                    : select.column_bytes(column);
      }
      form += canonical(table.columns[i].kind, value);
      row.push_back(std::move(value));
    }
    out.rows.push_back(std::move(row));
    out.canonical_rows.push_back(std::move(form));
  }
  return out;
}

void write_target(postgres::Connection& target, const Table& table, const SourceTable& source) {
  std::string placeholders;
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    placeholders += (i == 0 ? "$" : ", $") + std::to_string(i + 1);
    if (table.columns[i].kind == Kind::kBoolean) placeholders += "::integer::boolean";
  }
  const std::string sql =
      std::string("INSERT INTO ") + table.name + " (" + column_list(table) + ") VALUES (" + placeholders + ")";
  for (const auto& row : source.rows) {
    postgres::Params params;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (!row[i]) {
        params.add_null();
      } else if (table.columns[i].kind == Kind::kBytes) {
        params.add_bytes(row[i]->data(), row[i]->size());
      } else {
        params.add(*row[i]);
      }
    }
    target.exec(sql, params);
  }
}

std::vector<std::string> read_back(postgres::Connection& target, const Table& table) {
  const auto result = target.exec("SELECT " + column_list(table) + " FROM " + table.name, postgres::Params());
  std::vector<std::string> out;
  for (int row = 0; row < result.rows(); ++row) {
    std::string form;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      const int column = static_cast<int>(i);
      std::optional<std::string> value;
      if (!result.is_null(row, column)) {
        value = table.columns[i].kind == Kind::kBytes ? result.bytes(row, column) : result.text(row, column);
      }
      form += canonical(table.columns[i].kind, value);
    }
    out.push_back(std::move(form));
  }
  return out;
}

}  // namespace

std::vector<MigratedTable> migrate_registry(const std::string& from, const std::string& to) {
  if (postgres::is_uri(from)) throw Error::bad_parameter("from", "must be a SQLite registry file");
  if (!postgres::is_uri(to)) throw Error::bad_parameter("to", "must be a postgresql:// or postgres:// URI");
  struct stat status {};
  if (::stat(from.c_str(), &status) != 0) throw Error::not_found("registry file");
  constexpr std::chrono::milliseconds kTimeout{std::chrono::minutes(10)};
  // Opening the stores checks both sides (a damaged file, another
  // program's database, a newer version are refused), upgrades an older
  // source file and creates the target's schema.
  { SqliteStore checked(from, std::chrono::seconds(5)); }
  { PostgresStore created(to, kTimeout); }

  sqlite::Connection source(from, /*create=*/false, std::chrono::seconds(5));
  const sqlite::ReadTransaction snapshot(source);
  postgres::Connection target(to, kTimeout);
  postgres::Transaction transaction(target);
  // Concurrent migrations into one target: the second waits, then finds
  // the first's rows and refuses.
  target.exec("LOCK TABLE clusters, settings, certificate_authority IN EXCLUSIVE MODE");
  for (const auto& table : tables()) {
    if (target.exec((std::string("SELECT 1 FROM ") + table.name + " LIMIT 1").c_str()).rows() != 0) {
      throw Error::already_exists("a registry with data at the target (migrate only into an empty one)");
    }
  }
  std::vector<MigratedTable> out;
  for (const auto& table : tables()) {
    const SourceTable rows = read_source(source, table);
    write_target(target, table, rows);
    MigratedTable migrated{table.name, static_cast<std::int64_t>(rows.rows.size()), digest(rows.canonical_rows)};
    const auto copied = read_back(target, table);
    if (static_cast<std::int64_t>(copied.size()) != migrated.rows || digest(copied) != migrated.digest) {
      throw Error::storage(std::string("the copy of table ") + table.name + " does not match its source");
    }
    out.push_back(std::move(migrated));
  }
  // Identity columns go on after the copied ids.
  for (const char* table : {"events", "downloads"}) {
    target.exec((std::string("SELECT setval(pg_get_serial_sequence('") + table + "', 'id'), coalesce(max(id), 0) + 1, false) FROM " + table).c_str());
  }
  transaction.commit();
  return out;
}

}  // namespace clusteraccess

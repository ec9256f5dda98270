// What a model file may ask for, checked where each value enters the
// importer (docs/reliability.md). Model files may be hostile: a name
// reaches generated C and metadata, and a size reaches shape arithmetic,
// so both are validated before use, never repaired.
#ifndef KILN_FRONTEND_IMPORT_LIMITS_H
#define KILN_FRONTEND_IMPORT_LIMITS_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::import {

/// Every dimension fits in 31 bits and every tensor has at most 2^40
/// elements (4 TiB of f32), so a product of two dimensions, a byte count or
/// an offset never comes near int64 overflow.
constexpr int64_t kMaxDimension = (int64_t{1} << 31) - 1;
constexpr int64_t kMaxElements = int64_t{1} << 40;
/// Integer options (sizes, indices) share the dimension bound.
constexpr int64_t kMaxIntOption = kMaxDimension;
/// Module trees nest at most this deep (torch models nest a handful).
constexpr int kMaxModuleDepth = 64;
/// Names are at most this long.
constexpr size_t kMaxNameLength = 128;
/// Model files are at most 256 MiB.
constexpr int64_t kMaxModelFileBytes = int64_t{256} << 20;

/// A name as JSON would write it (quoted, control characters escaped), so a
/// message never prints a hostile name raw.
std::string quotedName(const std::string &name);

/// Problems with a name, or "" when valid:
/// - C identifiers (model, input and target names: they name C symbols and
///   arguments): [A-Za-z_][A-Za-z0-9_]*;
/// - module names (state_dict path parts): [A-Za-z0-9_]+;
/// - value names (graph values): [A-Za-z0-9_.-]+;
/// all at most kMaxNameLength characters.
std::string cIdentifierProblem(const std::string &name);
std::string moduleNameProblem(const std::string &name);
std::string valueNameProblem(const std::string &name);

/// "" when every dimension is in [1, kMaxDimension] and the product is at
/// most kMaxElements.
std::string shapeProblem(const std::vector<int64_t> &shape);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_LIMITS_H

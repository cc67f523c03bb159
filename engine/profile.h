#pragma once
// NVTX ranges, so Nsight Systems shows each op, each backward node and each training phase
// by name. Without CUDA, or with no profiler attached, a range costs next to nothing.
namespace fdl {

class ProfileRange {
 public:
  explicit ProfileRange(const char* name);
  ~ProfileRange();
  ProfileRange(const ProfileRange&) = delete;
  ProfileRange& operator=(const ProfileRange&) = delete;
};

}  // namespace fdl

#define FDL_PROFILE_CAT2(a, b) a##b
#define FDL_PROFILE_CAT(a, b) FDL_PROFILE_CAT2(a, b)
// A range from here to the end of the enclosing scope.
#define FDL_PROFILE_RANGE(name) ::fdl::ProfileRange FDL_PROFILE_CAT(fdl_range_, __LINE__)(name)

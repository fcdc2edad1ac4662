# Which LibTorch mtdnn builds against, and what follows from it: CUDA, NCCL and Gloo.
# Included by the top-level CMakeLists.txt; docs/gpu.md explains each choice.
#
#   MTDNN_LIBTORCH=wheel (default)  the LibTorch inside the PyTorch wheel of requirements.lock
#                                   (2.x with CUDA), found through MTDNN_PYTHON
#   MTDNN_LIBTORCH=system           the distribution's (Debian's libtorch-dev: 1.13, CPU only),
#                                   or any other LibTorch named by Torch_DIR / CMAKE_PREFIX_PATH
#
# Sets MTDNN_WITH_CUDA, MTDNN_HAVE_NCCL (with NCCL_LIBRARY, NCCL_INCLUDE_DIR) and
# MTDNN_HAVE_GLOO, each 0 or 1, and prints them on one line.
set(MTDNN_LIBTORCH "wheel" CACHE STRING
    "wheel: the PyTorch wheel's LibTorch (requirements.lock, through MTDNN_PYTHON); system: the distribution's or Torch_DIR's")
set_property(CACHE MTDNN_LIBTORCH PROPERTY STRINGS wheel system)

set(_mtdnn_wheel_site "")
if(MTDNN_LIBTORCH STREQUAL "wheel")
  execute_process(
    COMMAND ${MTDNN_PYTHON} -c "import os, torch; print(torch.utils.cmake_prefix_path); print(os.path.dirname(os.path.dirname(torch.__file__)))"
    OUTPUT_VARIABLE _mtdnn_torch_paths OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_VARIABLE _mtdnn_torch_error RESULT_VARIABLE _mtdnn_torch_rc)
  if(NOT _mtdnn_torch_rc EQUAL 0)
    message(FATAL_ERROR "mtdnn: no PyTorch wheel through ${MTDNN_PYTHON}: ${_mtdnn_torch_error}\n"
                        "Run scripts/setup.sh (it installs requirements.lock), or configure with "
                        "-DMTDNN_LIBTORCH=system to build against the distribution's LibTorch.")
  endif()
  string(REPLACE "\n" ";" _mtdnn_torch_paths "${_mtdnn_torch_paths}")
  list(GET _mtdnn_torch_paths 0 _mtdnn_torch_cmake)
  list(GET _mtdnn_torch_paths 1 _mtdnn_wheel_site)
  list(PREPEND CMAKE_PREFIX_PATH "${_mtdnn_torch_cmake}")
  # TorchConfig looks its libraries up by name (c10, torch, ...) with the system folders first:
  # with Debian's libtorch-dev also installed it would mix in its 1.13 libc10.so. The wheel's
  # folder goes first.
  list(PREPEND CMAKE_LIBRARY_PATH "${_mtdnn_wheel_site}/torch/lib")
  # TorchConfig enables CUDA, which needs nvcc: the toolkit's, when it is not on the PATH.
  # Its CUDA major version must be the wheel's (docs/gpu.md).
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(MTDNN_NVCC nvcc PATHS /usr/local/cuda/bin)
    if(NOT MTDNN_NVCC)
      message(FATAL_ERROR "mtdnn: the PyTorch wheel's LibTorch has CUDA, and building against it needs "
                          "nvcc (a CUDA toolkit of the wheel's major version), which is neither on the PATH "
                          "nor in /usr/local/cuda/bin. Install the toolkit, set CUDACXX, or configure with "
                          "-DMTDNN_LIBTORCH=system to build against the distribution's LibTorch (CPU).")
    endif()
    set(CMAKE_CUDA_COMPILER "${MTDNN_NVCC}")
  endif()
  # The wheel's libtorch.so exports its own copies of std::filesystem (and other libstdc++
  # functions it was linked with statically, from a newer GCC). Looked up first, they would
  # take the place of the system libstdc++'s in mtdnn's own calls, and at least one of them
  # (remove_all with an error_code) jumps to a null address. Every executable therefore lists
  # libstdc++ before LibTorch among the libraries it needs, so the dynamic loader finds the
  # system's definitions first (tests/scripts/libtorch_links_test.sh checks the order).
  string(APPEND CMAKE_EXE_LINKER_FLAGS " -Wl,--push-state,--no-as-needed -lstdc++ -Wl,--pop-state")
elseif(NOT MTDNN_LIBTORCH STREQUAL "system")
  message(FATAL_ERROR "mtdnn: MTDNN_LIBTORCH is '${MTDNN_LIBTORCH}'; use wheel or system")
endif()

find_package(Torch REQUIRED)

# CUDA code compiles only when the LibTorch found has CUDA (worker/cuda_support.cc, the NCCL
# backend).
set(MTDNN_WITH_CUDA 0)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(MTDNN_WITH_CUDA 1)
endif()

# NCCL from one place: the wheel's own (nvidia-nccl, the library libtorch_cuda loads), never a
# second copy from the toolkit; with another LibTorch, wherever NCCL_HOME or the system has
# it. The wheels ship libnccl.so.2 only, no unversioned link: that name is looked for too.
set(MTDNN_HAVE_NCCL 0)
if(MTDNN_WITH_CUDA)
  if(_mtdnn_wheel_site)
    find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 PATHS "${_mtdnn_wheel_site}/nvidia/nccl/lib" NO_DEFAULT_PATH)
    find_path(NCCL_INCLUDE_DIR nccl.h PATHS "${_mtdnn_wheel_site}/nvidia/nccl/include" NO_DEFAULT_PATH)
  else()
    find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ENV NCCL_HOME PATH_SUFFIXES lib lib64)
    if(NCCL_LIBRARY)
      get_filename_component(_mtdnn_nccl_lib_dir "${NCCL_LIBRARY}" DIRECTORY)
      find_path(NCCL_INCLUDE_DIR nccl.h HINTS "${_mtdnn_nccl_lib_dir}/../include" ENV NCCL_HOME PATH_SUFFIXES include)
    endif()
  endif()
  if(NCCL_LIBRARY AND NCCL_INCLUDE_DIR)
    set(MTDNN_HAVE_NCCL 1)
  endif()
endif()

# Gloo when LibTorch was built with c10d's Gloo and ships Gloo's headers beside its own. The
# PyTorch wheels have the first but not the second; another copy of Gloo's headers (Debian's
# libgloo-dev) would describe a different Gloo from the one compiled into LibTorch, so only
# LibTorch's own include folders are searched.
set(MTDNN_HAVE_GLOO 0)
if(TARGET torch_cpu)
  get_target_property(_mtdnn_torch_defs torch_cpu INTERFACE_COMPILE_DEFINITIONS)
  find_path(MTDNN_GLOO_INCLUDE_DIR gloo/algorithm.h PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
  if(NOT MTDNN_GLOO_INCLUDE_DIR AND NOT _mtdnn_wheel_site)
    # Debian's LibTorch is built against Debian's Gloo (libgloo-dev): its headers are the match.
    find_path(MTDNN_GLOO_INCLUDE_DIR gloo/algorithm.h)
  endif()
  if("USE_C10D_GLOO" IN_LIST _mtdnn_torch_defs AND MTDNN_GLOO_INCLUDE_DIR)
    set(MTDNN_HAVE_GLOO 1)
  endif()
endif()

if(Torch_VERSION)
  string(REGEX MATCH "^[0-9]+" _mtdnn_torch_major "${Torch_VERSION}")
else()
  set(_mtdnn_torch_major "?")
endif()
message(STATUS "mtdnn: LibTorch ${_mtdnn_torch_major}.x (${Torch_VERSION}, ${MTDNN_LIBTORCH}), CUDA ${MTDNN_WITH_CUDA}, "
               "NCCL ${MTDNN_HAVE_NCCL}, Gloo ${MTDNN_HAVE_GLOO}")

// HDF5 handle closing and error reporting (see hdf5.h).
#include "common/hdf5.h"

#include <cstring>

namespace mtdnn::h5 {

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = H5I_INVALID_HID;
}

void quiet_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void fail(const std::string& what, const char* call, const char* file, int line) {
  throw SystemError(fmt::format("{}: HDF5 call {} failed ({}:{})", what, call, file, line));
}

}  // namespace mtdnn::h5

namespace mtdnn::h5 {

template <> hid_t native_type<int32_t>() { return H5T_NATIVE_INT32; }
template <> hid_t native_type<int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t native_type<uint8_t>() { return H5T_NATIVE_UINT8; }
template <> hid_t native_type<uint16_t>() { return H5T_NATIVE_UINT16; }
template <> hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }

Handle create_file(const std::string& path) {
  Handle fcpl(MTDNN_H5(path, H5Pcreate(H5P_FILE_CREATE)));
  MTDNN_H5(path, H5Pset_obj_track_times(fcpl.get(), false));
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT));
  if (!file.valid()) throw SystemError(fmt::format("{}: cannot create HDF5 file", path));
  return file;
}

Handle open_file_readonly(const std::string& path) {
  htri_t is_h5 = H5Fis_hdf5(path.c_str());
  MTDNN_INPUT_CHECK(is_h5 > 0, "{}: not an HDF5 file (missing, truncated or overwritten)", path);
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  MTDNN_INPUT_CHECK(file.valid(), "{}: cannot open HDF5 file", path);
  return file;
}

void write_attr(hid_t obj, const char* name, const std::string& value, const std::string& what) {
  Handle type(MTDNN_H5(what, H5Tcopy(H5T_C_S1)));
  MTDNN_H5(what, H5Tset_size(type.get(), value.empty() ? 1 : value.size()));
  MTDNN_H5(what, H5Tset_cset(type.get(), H5T_CSET_UTF8));
  Handle space(MTDNN_H5(what, H5Screate(H5S_SCALAR)));
  Handle attr(MTDNN_H5(what, H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT)));
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  MTDNN_H5(what, H5Awrite(attr.get(), type.get(), padded.data()));
}

void write_attr(hid_t obj, const char* name, int64_t value, const std::string& what) {
  Handle space(MTDNN_H5(what, H5Screate(H5S_SCALAR)));
  Handle attr(MTDNN_H5(what, H5Acreate2(obj, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT)));
  MTDNN_H5(what, H5Awrite(attr.get(), H5T_NATIVE_INT64, &value));
}

bool has_attr(hid_t obj, const char* name) { return H5Aexists(obj, name) > 0; }

std::string read_attr_string(hid_t obj, const char* name, const std::string& what) {
  MTDNN_INPUT_CHECK(has_attr(obj, name), "{}: attribute '{}' is missing", what, name);
  Handle attr(MTDNN_H5(what, H5Aopen(obj, name, H5P_DEFAULT)));
  Handle type(MTDNN_H5(what, H5Aget_type(attr.get())));
  MTDNN_INPUT_CHECK(H5Tget_class(type.get()) == H5T_STRING && !H5Tis_variable_str(type.get()),
                    "{}: attribute '{}' is not a fixed-length string", what, name);
  size_t size = H5Tget_size(type.get());
  std::string value(size, '\0');
  MTDNN_H5(what, H5Aread(attr.get(), type.get(), value.data()));
  value.resize(std::strlen(value.c_str()));
  return value;
}

int64_t read_attr_int64(hid_t obj, const char* name, const std::string& what) {
  MTDNN_INPUT_CHECK(has_attr(obj, name), "{}: attribute '{}' is missing", what, name);
  Handle attr(MTDNN_H5(what, H5Aopen(obj, name, H5P_DEFAULT)));
  Handle type(MTDNN_H5(what, H5Aget_type(attr.get())));
  MTDNN_INPUT_CHECK(H5Tget_class(type.get()) == H5T_INTEGER, "{}: attribute '{}' is not an integer",
                    what, name);
  int64_t value = 0;
  MTDNN_H5(what, H5Aread(attr.get(), H5T_NATIVE_INT64, &value));
  return value;
}

bool has_dataset(hid_t file, const char* name) { return H5Lexists(file, name, H5P_DEFAULT) > 0; }

Handle open_dataset(hid_t file, const char* name, const std::string& what) {
  MTDNN_INPUT_CHECK(has_dataset(file, name), "{}: dataset '{}' is missing", what, name);
  Handle d(H5Dopen2(file, name, H5P_DEFAULT));
  MTDNN_INPUT_CHECK(d.valid(), "{}: dataset '{}' cannot be opened", what, name);
  return d;
}

int64_t dataset_length(hid_t dset, const std::string& what) {
  Handle space(MTDNN_H5(what, H5Dget_space(dset)));
  MTDNN_INPUT_CHECK(H5Sget_simple_extent_ndims(space.get()) == 1, "{}: dataset is not one-dimensional", what);
  hsize_t dims[1] = {0};
  MTDNN_H5(what, H5Sget_simple_extent_dims(space.get(), dims, nullptr));
  return static_cast<int64_t>(dims[0]);
}

H5T_class_t dataset_type_class(hid_t dset, const std::string& what) {
  Handle type(MTDNN_H5(what, H5Dget_type(dset)));
  return H5Tget_class(type.get());
}

template <typename T>
void read_slice(hid_t dset, int64_t begin, int64_t count, T* out, const std::string& what) {
  if (count == 0) return;
  Handle file_space(MTDNN_H5(what, H5Dget_space(dset)));
  hsize_t start[1] = {static_cast<hsize_t>(begin)};
  hsize_t n[1] = {static_cast<hsize_t>(count)};
  MTDNN_H5(what, H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, n, nullptr));
  Handle mem_space(MTDNN_H5(what, H5Screate_simple(1, n, nullptr)));
  MTDNN_H5(what, H5Dread(dset, native_type<T>(), mem_space.get(), file_space.get(), H5P_DEFAULT, out));
}

template <typename T>
AppendableDataset<T>::AppendableDataset(hid_t file, const char* name, hid_t stored, int64_t chunk,
                                        std::string what)
    : what_(std::move(what) + ": dataset " + name) {
  hsize_t dims[1] = {0};
  hsize_t max_dims[1] = {H5S_UNLIMITED};
  Handle space(MTDNN_H5(what_, H5Screate_simple(1, dims, max_dims)));
  Handle dcpl(MTDNN_H5(what_, H5Pcreate(H5P_DATASET_CREATE)));
  hsize_t chunk_dims[1] = {static_cast<hsize_t>(chunk)};
  MTDNN_H5(what_, H5Pset_chunk(dcpl.get(), 1, chunk_dims));
  MTDNN_H5(what_, H5Pset_obj_track_times(dcpl.get(), false));
  dset_ = Handle(MTDNN_H5(what_, H5Dcreate2(file, name, stored, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT)));
}

template <typename T>
void AppendableDataset<T>::append(const T* data, int64_t count) {
  if (count == 0) return;
  hsize_t new_size[1] = {static_cast<hsize_t>(size_ + count)};
  MTDNN_H5(what_, H5Dset_extent(dset_.get(), new_size));
  Handle file_space(MTDNN_H5(what_, H5Dget_space(dset_.get())));
  hsize_t start[1] = {static_cast<hsize_t>(size_)};
  hsize_t n[1] = {static_cast<hsize_t>(count)};
  MTDNN_H5(what_, H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, n, nullptr));
  Handle mem_space(MTDNN_H5(what_, H5Screate_simple(1, n, nullptr)));
  MTDNN_H5(what_, H5Dwrite(dset_.get(), native_type<T>(), mem_space.get(), file_space.get(), H5P_DEFAULT, data));
  size_ += count;
}

#define MTDNN_H5_INSTANTIATE(T)                                                         \
  template void read_slice<T>(hid_t, int64_t, int64_t, T*, const std::string&);        \
  template class AppendableDataset<T>;
MTDNN_H5_INSTANTIATE(int32_t)
MTDNN_H5_INSTANTIATE(int64_t)
MTDNN_H5_INSTANTIATE(uint8_t)
MTDNN_H5_INSTANTIATE(uint16_t)
MTDNN_H5_INSTANTIATE(float)
#undef MTDNN_H5_INSTANTIATE

}  // namespace mtdnn::h5

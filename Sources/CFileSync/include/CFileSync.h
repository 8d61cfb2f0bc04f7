#ifndef POSTGATE_CFILESYNC_H
#define POSTGATE_CFILESYNC_H

/// Starts writing the dirty pages of the open file `fd` to the device and returns without
/// waiting (Linux `sync_file_range(2)` with `SYNC_FILE_RANGE_WRITE`): a later `fsync` or
/// `syncfs` then has less left to wait for. Returns 0, or -1 with `errno` set; does nothing
/// and returns 0 where the call does not exist. Glibc declares it only with `_GNU_SOURCE`,
/// which Swift's Glibc module does not define, hence this C function.
int postgate_start_writeback(int fd);

#endif

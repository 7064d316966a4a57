/* Writes a file with pwrite at explicit offsets, fsyncs it, reads it back with pread; prints results. */
#include <fcntl.h>
#include <unistd.h>

#include "helper.h"

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: life_fsync FILE");
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open: %s", strerror(errno));
    char buf[16];
    REPORT("pwrite", pwrite(fd, "0123456789", 10, 5));
    REPORT("fsync", fsync(fd));
    REPORT("fdatasync", fdatasync(fd));
    REPORT("pread", pread(fd, buf, sizeof(buf), 5));
    printf("content %.10s\n", buf);
    return 0;
}

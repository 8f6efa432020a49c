// CTunTap: the Linux TUN/TAP constants and the few C helpers that are awkward from Swift
// (a `struct ifreq` with a fixed-size name array, variadic `ioctl`, headers the Glibc module
// does not import). Everything here is static inline: the matching .c file only exists so
// SwiftPM accepts the target.
#ifndef CTUNTAP_H
#define CTUNTAP_H

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <linux/if_tun.h>

// IFF_TUN, IFF_TAP, IFF_NO_PI, IFF_VNET_HDR (linux/if_tun.h) and IFNAMSIZ (net/if.h) are plain
// integer macros and import into Swift as they are. The ioctl request codes are `_IOW(...)`
// expressions Swift cannot import, so they are re-exported as constants.

/// `TUNSETIFF`: attach a file descriptor of /dev/net/tun to a named TUN or TAP interface.
static const unsigned long CTUNTAP_TUNSETIFF = TUNSETIFF;
/// `TUNSETOFFLOAD`: tell the kernel which offloads (TUN_F_CSUM, TUN_F_TSO4, …) we can take.
static const unsigned long CTUNTAP_TUNSETOFFLOAD = TUNSETOFFLOAD;
/// `TUNSETVNETHDRSZ`: the size of the virtio-net header that prefixes each frame with IFF_VNET_HDR.
static const unsigned long CTUNTAP_TUNSETVNETHDRSZ = TUNSETVNETHDRSZ;

/// Attaches `fd` (an open /dev/net/tun) to the interface `name` with `flags`
/// (e.g. IFF_TAP | IFF_NO_PI). On success returns 0 and copies the interface's actual name
/// (NUL-terminated, at most IFNAMSIZ bytes) to `outName`; on failure returns -1 with errno set.
/// A name that does not fit in IFNAMSIZ - 1 bytes fails with EINVAL before any ioctl.
static inline int ctuntap_attach(int fd, const char *name, short flags, char *outName) {
    struct ifreq ifr;
    size_t length = strlen(name);
    if (length >= IFNAMSIZ) {
        errno = EINVAL;
        return -1;
    }
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, length);
    ifr.ifr_flags = flags;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) return -1;
    memcpy(outName, ifr.ifr_name, IFNAMSIZ);
    outName[IFNAMSIZ - 1] = 0;
    return 0;
}

/// `ioctl(fd, TUNSETOFFLOAD, flags)`: returns 0, or -1 with errno set.
static inline int ctuntap_set_offload(int fd, unsigned int flags) {
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags);
}

/// `ioctl(fd, TUNSETVNETHDRSZ, &size)`: returns 0, or -1 with errno set.
static inline int ctuntap_set_vnet_header_size(int fd, int size) {
    return ioctl(fd, TUNSETVNETHDRSZ, &size);
}

/// Reads the MTU (`SIOCGIFMTU`) and MAC address (`SIOCGIFHWADDR`, 6 bytes to `outMAC`) of the
/// interface `name` in the caller's network namespace. Returns 0, or -1 with errno set.
static inline int ctuntap_interface_info(const char *name, int *outMTU, unsigned char *outMAC) {
    struct ifreq ifr;
    size_t length = strlen(name);
    if (length >= IFNAMSIZ) {
        errno = EINVAL;
        return -1;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, length);
    if (ioctl(s, SIOCGIFMTU, &ifr) < 0) goto fail;
    *outMTU = ifr.ifr_mtu;
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) goto fail;
    memcpy(outMAC, ifr.ifr_hwaddr.sa_data, 6);
    close(s);
    return 0;
fail: {
        int saved = errno;
        close(s);
        errno = saved;
        return -1;
    }
}

#endif

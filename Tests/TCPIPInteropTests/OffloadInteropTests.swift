import Foundation
import Testing

/// Virtio-net offloads on the TAP (`IFF_VNET_HDR`, `TUNSETOFFLOAD`): with them on, Linux hands
/// the stack TCP super-frames of up to 64 KiB with partial checksums, and the bytes still
/// arrive intact both ways; with `--offload off`, every frame is an ordinary one.
@Suite(
    "Virtio-net offloads with the Linux kernel",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .timeLimit(.minutes(5))
)
struct OffloadInteropTests {
    /// 256 MiB from python3 through `--tcp-echo` and back, SHA-256 on both sides.
    @Test(arguments: ["on", "off"])
    func bulkEchoIsIntact(offload: String) async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--tcp-echo", "7", "--offload", offload, "--control", path])
            let r = try await ns.python(Self.echo, [Namespace.stackAddress, "7", "\(256 << 20)"], timeout: 180)
            print("OffloadInterop (\(offload)): \(r.stdout.split(separator: "\n").joined(separator: "; "))")
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("intact"), "\(r)")
            let stats = try StackStats(try await stack.control().call(["op": "stats"]))
            let superFrames = stats.counter("link", "super_frames_in")
            if offload == "on" {
                #expect(superFrames > 0, "no super-frame came in: \(stats.layers["link"] ?? [:])")
            } else {
                #expect(superFrames == 0)
            }
            // Out-of-window drops are Linux's zero-window probes (SEQ = SND.UNA − 1) while the echo
            // waits for room; a checksum failure would be a super-frame taken wrongly.
            #expect(stats.counter("tcp", "bad_checksum") == 0, "\(stats.dropSummary)")
            #expect(stats.layerDrops("ip") == 0, "\(stats.dropSummary)")
            #expect(await stack.stop() == 0)
        }
    }

    /// argv: address port bytes. Sends `bytes` of seeded random data on one thread while
    /// another reads the echo; prints both SHA-256s and "intact" when they agree.
    static let echo = #"""
        import hashlib, random, socket, sys, threading, time
        host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        s = socket.create_connection((host, port), timeout=60)
        rng = random.Random(7)
        block = rng.randbytes(1 << 20)
        sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()
        def send():
            n = 0
            while n < total:
                chunk = block[n % len(block):] if n % len(block) else block
                chunk = chunk[: total - n]
                s.sendall(chunk); sent_hash.update(chunk); n += len(chunk)
            s.shutdown(socket.SHUT_WR)
        start = time.time()
        t = threading.Thread(target=send); t.start()
        got = 0
        while True:
            d = s.recv(1 << 20)
            if not d: break
            got_hash.update(d); got += len(d)
        t.join()
        secs = time.time() - start
        print("echoed %d of %d bytes in %.1f s (%.2f Gbit/s each way)" % (got, total, secs, got * 8 / secs / 1e9))
        print("sha256 sent %s got %s" % (sent_hash.hexdigest()[:16], got_hash.hexdigest()[:16]))
        if got == total and sent_hash.digest() == got_hash.digest(): print("intact")
        else: sys.exit(1)
        """#
}

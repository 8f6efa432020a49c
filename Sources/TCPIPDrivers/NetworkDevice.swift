import TCPIPCore

/// The one place frames move between a stack and the world: a TAP interface, an in-memory
/// link, later a multiqueue or offloading NIC — as smoltcp's `phy::Device`.
///
/// Frames move in batches: `receive(into:)` fills a caller-owned `FrameBatch` with as many
/// frames as are queued (up to its room), and `transmit(_:)` sends every frame of the stack's
/// `FrameQueue`. Each frame carries its `FrameOffload` metadata, and the device declares what
/// it does with it in `capabilities`. A device may move one frame per system call underneath
/// (the TAP driver does today); the batch shape lets a later one use `recvmmsg`/`sendmmsg` or
/// a ring without changing its caller.
///
/// Readiness: `readinessDescriptor` becomes readable (for `poll(2)`, see `Poller`) whenever a
/// frame may be waiting, and stays readable while frames wait, so the owner of the device
/// waits on it together with its other descriptors.
///
/// A device is used by one thread at a time — the owner thread of the host it is attached to —
/// and is `Sendable` so it can be handed to that thread. Devices that join two owners (the
/// in-memory pair) are thread-safe between them.
public protocol NetworkDevice: AnyObject, Sendable {
    /// The device's name, for messages (`tap0`, `mem0`).
    var name: String { get }

    /// The device's framing, MTU and offloads.
    var capabilities: DeviceCapabilities { get }

    /// A descriptor that `poll(2)` reports readable while frames may be waiting (TAP: the
    /// `/dev/net/tun` descriptor; the in-memory device: an eventfd).
    var readinessDescriptor: Int32 { get }

    /// Appends waiting frames to `batch`, as many as are queued and fit (`batch.hasRoom`), and
    /// returns how many it appended (0: none waiting). Never blocks. While `batch` still has
    /// room afterwards, the device had no more frames. Frames appended before a failure stay
    /// in `batch`.
    @discardableResult
    func receive(into batch: inout FrameBatch) throws(DriverError) -> Int

    /// Sends one frame with its metadata. A frame the device cannot queue now (a full ring or
    /// kernel queue) is dropped and counted, as a NIC drops; a failure of the device itself is
    /// thrown.
    func transmit(_ frame: UnsafeRawBufferPointer, offload: FrameOffload) throws(DriverError)

    /// Sends every committed frame of `frames`, in order, and returns how many it handed on
    /// (dropped frames included; a failure ends the batch and is thrown). Every frame goes with
    /// `FrameOffload.none` until the stack records offloads per frame. The default sends them
    /// one by one with `transmit(_:offload:)`.
    @discardableResult
    func transmit(_ frames: FrameQueue) throws(DriverError) -> Int
}

extension NetworkDevice {
    /// Sends the frames one by one with `transmit(_:offload:)`.
    @discardableResult
    public func transmit(_ frames: FrameQueue) throws(DriverError) -> Int {
        var sent = 0
        var failure: DriverError?
        frames.forEachFrame { _, frame in
            guard failure == nil else { return }
            do throws(DriverError) {
                try transmit(frame, offload: .none)
                sent += 1
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return sent
    }
}

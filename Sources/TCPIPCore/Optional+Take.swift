extension Optional {
    /// Moves the value out, leaving nil (so a struct can be mutated without a copy: `swap`
    /// moves the bits instead of copying the value and releasing the original).
    mutating func take() -> Wrapped? {
        var v: Wrapped? = nil
        swap(&v, &self)
        return v
    }
}

extension Optional {
    /// Moves the value out, leaving nil (so a struct can be mutated without a copy).
    mutating func take() -> Wrapped? {
        let v = self
        self = nil
        return v
    }
}

// The retry driver the expansion runs calls with is not part of the public API.
use breakerbox::Call;

fn main() {}

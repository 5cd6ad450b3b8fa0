//! HAR import (to be written).

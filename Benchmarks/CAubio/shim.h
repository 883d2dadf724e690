/* aubio (Debian libaubio-dev), the peer the analysis benchmarks run beside DJCore. GPL-3.0-or-later. */
#include <aubio/aubio.h>

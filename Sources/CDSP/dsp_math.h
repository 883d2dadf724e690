/* Private: constants strict C11 does not define, and the stereo vector type. */
#ifndef CDSP_DSP_MATH_H
#define CDSP_DSP_MATH_H
#include <math.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_PI_2
#define M_PI_2 1.57079632679489661923
#endif

/* Left and right in the two lanes of one vector (clang vector extension): one instruction stream
 * for both channels, the same arithmetic per lane as two scalar passes. */
typedef float f2 __attribute__((ext_vector_type(2)));
#endif

/* Private: constants strict C11 does not define. */
#ifndef CDSP_DSP_MATH_H
#define CDSP_DSP_MATH_H
#include <math.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_PI_2
#define M_PI_2 1.57079632679489661923
#endif
#endif

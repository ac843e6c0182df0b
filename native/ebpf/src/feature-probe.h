// See feature-probe.cc.
#pragma once

/** 0 when an fentry program loads here, else -errno (EPERM, ENOENT, EINVAL...). */
int ProbeFentry();

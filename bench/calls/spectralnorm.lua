-- Spectral norm (the Computer Language Benchmarks Game), plain Lua: `lua spectralnorm.lua N`.
local function A(i, j)
  local ij = i + j
  return 1.0 / (math.floor(ij * (ij + 1) / 2) + i + 1)
end
local function Av(n, x, y)
  for i = 0, n - 1 do
    local a = 0.0
    for j = 0, n - 1 do a = a + A(i, j) * x[j] end
    y[i] = a
  end
end
local function Atv(n, x, y)
  for i = 0, n - 1 do
    local a = 0.0
    for j = 0, n - 1 do a = a + A(j, i) * x[j] end
    y[i] = a
  end
end
local function AtAv(n, x, y, t) Av(n, x, t); Atv(n, t, y) end
local n = tonumber(arg and arg[1]) or 100
local u, v, t = {}, {}, {}
for i = 0, n - 1 do u[i] = 1.0; v[i] = 0.0; t[i] = 0.0 end
for _ = 1, 10 do AtAv(n, u, v, t); AtAv(n, v, u, t) end
local vBv, vv = 0.0, 0.0
for i = 0, n - 1 do vBv = vBv + u[i] * v[i]; vv = vv + v[i] * v[i] end
io.write(string.format("%0.9f\n", math.sqrt(vBv / vv)))

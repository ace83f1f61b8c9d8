-- Mandelbrot over scalar floats, plain Lua (the same count as programs/mandelscalar.vec): `lua mandelbrot.lua N`.
local function inside(cr, ci)
  local zr, zi = 0.0, 0.0
  for _ = 1, 50 do
    local tr = zr * zr - zi * zi + cr
    local ti = 2.0 * zr * zi + ci
    zr, zi = tr, ti
    if zr * zr + zi * zi > 4.0 then return false end
  end
  return true
end
local function count(n)
  local c = 0
  for y = 0, n - 1 do
    local ci = 2.0 * y / n - 1.0
    for x = 0, n - 1 do
      if inside(2.0 * x / n - 1.5, ci) then c = c + 1 end
    end
  end
  return c
end
local n = tonumber(arg and arg[1]) or 200
print(count(n))

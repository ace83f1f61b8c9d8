import VecVM
print(VecVMInfo.version)
